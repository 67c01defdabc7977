export { makePdf } from '../../seeds/lib/pdf';
