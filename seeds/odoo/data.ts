/**
 * The clinic's test data, generated deterministically (the same every run, so seeding is idempotent):
 * doctors, patients, appointments, medications with min/max stock, invoices, medical records and
 * prescriptions. Plain data: seed.ts turns it into Odoo records.
 */

const FIRST = [
  'Lucía',
  'Hugo',
  'Martina',
  'Mateo',
  'Sofía',
  'Leo',
  'María',
  'Daniel',
  'Julia',
  'Pablo',
  'Paula',
  'Álvaro',
  'Valeria',
  'Manuel',
  'Emma',
  'Adrián',
  'Daniela',
  'David',
  'Carmen',
  'Javier',
  'Elena',
  'Marcos',
  'Sara',
  'Diego',
  'Irene',
  'Jorge',
  'Laura',
  'Sergio',
  'Ana',
  'Carlos',
];
const LAST = [
  'García',
  'Rodríguez',
  'González',
  'Fernández',
  'López',
  'Martínez',
  'Sánchez',
  'Pérez',
  'Gómez',
  'Martín',
  'Jiménez',
  'Ruiz',
  'Hernández',
  'Díaz',
  'Moreno',
  'Muñoz',
  'Álvarez',
  'Romero',
  'Alonso',
  'Gutiérrez',
  'Navarro',
  'Torres',
  'Domínguez',
  'Vázquez',
  'Ramos',
  'Gil',
  'Ramírez',
  'Serrano',
  'Blanco',
  'Molina',
];
const CITIES = ['Madrid', 'Sevilla', 'Valencia', 'Zaragoza', 'Málaga', 'Bilbao', 'Valladolid', 'Granada', 'Salamanca', 'Toledo'];
const STREETS = ['Calle Mayor', 'Avenida de la Constitución', 'Calle Real', 'Paseo del Prado', 'Calle del Sol', 'Plaza de España'];

/** A deterministic pseudo-random sequence (mulberry32), so every run produces the same data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ascii = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

export interface PersonSeed {
  ref: string;
  name: string;
  email: string;
  phone: string;
  street: string;
  city: string;
  zip: string;
  vat: string;
  function?: string;
  comment?: string;
}

function person(i: number, refPrefix: string, random: () => number): Omit<PersonSeed, 'ref'> & { ref: string } {
  const first = FIRST[Math.floor(random() * FIRST.length)];
  const last1 = LAST[Math.floor(random() * LAST.length)];
  const last2 = LAST[Math.floor(random() * LAST.length)];
  const number = 10000000 + Math.floor(random() * 89999999);
  const city = CITIES[i % CITIES.length];
  return {
    ref: `${refPrefix}-${String(i + 1).padStart(4, '0')}`,
    name: `${first} ${last1} ${last2}`,
    email: `${ascii(first)}.${ascii(last1)}.${i + 1}@${refPrefix === 'DOC' ? 'clinica-universitaria.example' : 'pacientes.example'}`,
    phone: `+34 6${String(Math.floor(random() * 1e8)).padStart(8, '0')}`,
    street: `${STREETS[i % STREETS.length]} ${1 + Math.floor(random() * 120)}`,
    city,
    zip: String(28001 + Math.floor(random() * 20000)).padStart(5, '0'),
    vat: `ES${number}${DNI_LETTERS[number % 23]}`,
  };
}

export const SPECIALTIES = ['Medicina General', 'Pediatría', 'Cardiología', 'Dermatología', 'Traumatología', 'Ginecología', 'Neurología', 'Oftalmología'];

export function doctors(n = 8): PersonSeed[] {
  const random = rng(7);
  return Array.from({ length: n }, (_, i) => ({ ...person(i, 'DOC', random), function: `Médico · ${SPECIALTIES[i % SPECIALTIES.length]}` }));
}

export function patients(n = 200): PersonSeed[] {
  const random = rng(42);
  return Array.from({ length: n }, (_, i) => ({ ...person(i, 'PAC', random), comment: 'Paciente de la Clínica Universitaria (datos de prueba)' }));
}

export interface AppointmentSeed {
  name: string;
  start: string;
  stop: string;
  patientRef: string;
  doctorRef: string;
  description: string;
}

/** One or two appointments for the first patients, on fixed dates (June 2025, working hours). */
export function appointments(patientRefs: string[], doctorRefs: string[], n = 120): AppointmentSeed[] {
  const random = rng(99);
  const out: AppointmentSeed[] = [];
  for (let i = 0; i < n; i++) {
    const patientRef = patientRefs[i % patientRefs.length];
    const doctorRef = doctorRefs[Math.floor(random() * doctorRefs.length)];
    const day = 2 + (i % 20) + Math.floor((i % 20) / 5) * 2; // weekdays-ish of June 2025
    const hour = 8 + (i % 9);
    const date = `2025-06-${String(Math.min(day, 30)).padStart(2, '0')}`;
    out.push({
      name: `Consulta ${patientRef} #${Math.floor(i / patientRefs.length) + 1}`,
      start: `${date} ${String(hour).padStart(2, '0')}:00:00`,
      stop: `${date} ${String(hour).padStart(2, '0')}:30:00`,
      patientRef,
      doctorRef,
      description: SPECIALTIES[Math.floor(random() * SPECIALTIES.length)],
    });
  }
  return out;
}

const MEDICATIONS = [
  'Paracetamol',
  'Ibuprofeno',
  'Amoxicilina',
  'Omeprazol',
  'Metformina',
  'Atorvastatina',
  'Enalapril',
  'Salbutamol',
  'Loratadina',
  'Diazepam',
  'Levotiroxina',
  'Simvastatina',
  'Amlodipino',
  'Losartán',
  'Prednisona',
  'Azitromicina',
  'Ciprofloxacino',
  'Metamizol',
  'Tramadol',
  'Insulina glargina',
  'Furosemida',
  'Bisoprolol',
  'Clopidogrel',
  'Sertralina',
  'Fluoxetina',
];
const FORMS = [
  ['500 mg comprimidos', 20],
  ['1 g comprimidos', 40],
  ['600 mg sobres', 30],
  ['20 mg cápsulas', 28],
] as const;

export interface MedicationSeed {
  code: string;
  name: string;
  price: number;
  min: number;
  max: number;
  initial: number;
}

export function medications(n = 100): MedicationSeed[] {
  const random = rng(2025);
  return Array.from({ length: n }, (_, i) => {
    const [form, pack] = FORMS[Math.floor(i / MEDICATIONS.length) % FORMS.length];
    const min = 10 + Math.floor(random() * 40);
    const max = min * 4;
    // A few start under their minimum, so the low-stock alerts have something to show.
    const initial = i % 10 === 0 ? Math.floor(min / 2) : min + Math.floor(random() * (max - min));
    return {
      code: `MED-${String(i + 1).padStart(3, '0')}`,
      name: `${MEDICATIONS[i % MEDICATIONS.length]} ${form} (${pack} uds)`,
      price: Math.round((2 + random() * 48) * 100) / 100,
      min,
      max,
      initial,
    };
  });
}

export interface InvoiceSeed {
  ref: string;
  patientRef: string;
  date: string;
  lines: Array<{ name: string; quantity: number; price: number; medicationCode?: string }>;
}

export function invoices(patientRefs: string[], n = 6): InvoiceSeed[] {
  return Array.from({ length: n }, (_, i) => ({
    ref: `SEED-INV-${String(i + 1).padStart(3, '0')}`,
    patientRef: patientRefs[i],
    date: `2025-06-${String(10 + i).padStart(2, '0')}`,
    lines: [
      { name: 'Consulta de especialidad', quantity: 1, price: 60 },
      { name: 'Análisis de sangre', quantity: 1, price: 25.5 },
      ...(i % 2 ? [{ name: 'Medicamento dispensado', quantity: 2, price: 4.75, medicationCode: `MED-${String(i + 1).padStart(3, '0')}` }] : []),
    ],
  }));
}

export interface RecordSeed {
  name: string;
  patientRef: string;
  doctorRef: string;
  date: string;
  text: string;
  medicationCode?: string;
}

export function medicalRecords(patientRefs: string[], doctorRefs: string[], n = 10): RecordSeed[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `HC-${patientRefs[i]}`,
    patientRef: patientRefs[i],
    doctorRef: doctorRefs[i % doctorRefs.length],
    date: `2025-06-${String(2 + i).padStart(2, '0')} 10:00:00`,
    text: 'Revisión general. Constantes normales. Sin alergias conocidas.',
  }));
}

export function prescriptions(patientRefs: string[], doctorRefs: string[], n = 10): RecordSeed[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `REC-${patientRefs[i]}`,
    patientRef: patientRefs[i],
    doctorRef: doctorRefs[i % doctorRefs.length],
    date: `2025-06-${String(2 + i).padStart(2, '0')}`,
    text: '1 comprimido cada 8 horas durante 5 días',
    medicationCode: `MED-${String(i + 1).padStart(3, '0')}`,
  }));
}
