/**
 * E-mail addresses as a message gives them: a string with one or more addresses separated by commas
 * (`"Ana <ana@clinic.org>, ops@clinic.org"`) or an array of such strings. Each is checked before anything is
 * sent, so a typo fails the message with BAD_INPUT naming the field instead of an SMTP error later.
 */
import addressparser from 'nodemailer/lib/addressparser';
import { badInput } from '../common/errors';

/** local@domain, where the domain is host names (letters, digits, hyphens) separated by dots, or an [IP] literal. */
const ADDRESS = /^[^\s@<>()[\]\\,;:"]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;

/** true when `address` is a bare e-mail address (no display name). */
function isEmailAddress(address: string): boolean {
  return address.length <= 254 && ADDRESS.test(address);
}

/**
 * The addresses of a field, each as given (display name kept), after checking every one; undefined when the field
 * is empty. `field` names the field in the error (`msg.email.to`).
 */
export function addressList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const parts = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const part of parts) {
    if (typeof part !== 'string') {
      throw badInput('smtp', `${field} must be an e-mail address, a comma-separated list of them or an array of them, not ${typeof part}`, { field });
    }
    if (part.trim() === '') continue;
    for (const parsed of addressparser(part, { flatten: true })) {
      const address = parsed.address?.trim() ?? '';
      if (!isEmailAddress(address)) {
        throw badInput(
          'smtp',
          `${field} holds "${parsed.name || address || part}", which is not an e-mail address: write it as name@domain (e.g. ops@clinica.example)`,
          {
            field,
            value: parsed.name || address || part,
          },
        );
      }
      out.push(parsed.name ? `"${parsed.name.replace(/["\\]/g, '')}" <${address}>` : address);
    }
  }
  return out.length > 0 ? out : undefined;
}
