/** The XML reader of the Nextcloud client, shared by the test peer and the conformance runner. */
export { type XmlElement, child, parseXmlTree } from '../../nodes/clients/nextcloud/xml';
