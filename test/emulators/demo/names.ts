/** Word lists for the demo organisation: small enough to read, combined so that 5,000 companies still get unique names. */

export const FIRST_NAMES = [
  'James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'William', 'Elizabeth', 'David', 'Susan',
  'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Daniel', 'Karen', 'Matthew', 'Lisa', 'Anthony', 'Emily', 'Andrew', 'Michelle',
  'Kevin', 'Amanda', 'Priya', 'Arjun', 'Wei', 'Mei', 'Hiroshi', 'Yuki', 'Olga', 'Ivan', 'Fatima', 'Omar', 'Lucía', 'Mateo',
  'Sofia', 'Lukas', 'Hannah', 'Noah', 'Emma', 'Liam', 'Chloé', 'Louis', 'Ana', 'João', 'Aisha', 'Kwame', 'Ingrid', 'Lars',
  'Zoë', 'Björn', 'Siobhan', 'Connor', 'Ngozi', 'Tariq', 'Elena', 'Marco',
] as const;

export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor', 'Thomas', 'Moore',
  'Martin', 'Lee', 'Thompson', 'White', 'Harris', 'Clark', 'Lewis', 'Walker', 'Young', 'King', 'Wright', 'Scott', 'Green',
  'Baker', 'Nelson', 'Carter', 'Patel', 'Sharma', 'Chen', 'Wang', 'Tanaka', 'Sato', 'Petrova', 'Ivanov', 'Haddad', 'Khan',
  'García', 'Rodríguez', 'Müller', 'Schmidt', 'Dubois', 'Moreau', 'Silva', 'Santos', 'Okafor', 'Mensah', 'Johansson',
  'Nielsen', "O'Brien", 'Murphy', 'Nguyen', 'Kim', 'Park', 'Rossi', 'Bianchi', 'Kowalski', 'Novak', 'Cohen',
] as const;

/** Plain-ASCII local part for an email: strip diacritics and apostrophes like most corporate directories do. */
export function asciiSlug(s: string): string {
  // Memoised: the inputs come from short fixed lists, and normalize + two regexes per call add up at 100k contacts.
  let v = slugs.get(s);
  if (v === undefined) {
    v = s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9]/g, '').toLowerCase();
    if (slugs.size < 10_000) slugs.set(s, v);
  }
  return v;
}
const slugs = new Map<string, string>();

/** Roots combine with suffixes; the syllable pairs extend the roots when a run asks for thousands of companies. */
export const COMPANY_ROOTS = [
  'Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay', 'Soylent', 'Tyrell', 'Cyberdyne', 'Wonka', 'Aperture',
  'Stark', 'Wayne', 'Oscorp', 'Gringotts', 'Monarch', 'Nakatomi', 'Zorg', 'Virtucon', 'Prestige', 'Bluth', 'Dunder',
  'Massive', 'Pied Piper', 'Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Litware', 'Adatum', 'Lakeshore', 'Bluebird',
  'Kestrel', 'Helios', 'Orbital', 'Quantive', 'Brightline', 'Ironclad', 'Redwood', 'Sparrow',
] as const;
const SYLLABLES_A = ['Zen', 'Nova', 'Ver', 'Lum', 'Cor', 'Aer', 'Syn', 'Tri', 'Kai', 'Ori', 'Vel', 'Mira', 'Hex', 'Quin', 'Ro'];
const SYLLABLES_B = ['tix', 'ly', 'bit', 'nex', 'via', 'sta', 'lio', 'gen', 'dara', 'mo', 'tron', 'fy', 'ra', 'zo', 'pal'];

export function companyRoot(i: number): string {
  if (i < COMPANY_ROOTS.length) return COMPANY_ROOTS[i] ?? 'Acme';
  const j = i - COMPANY_ROOTS.length;
  const a = SYLLABLES_A[j % SYLLABLES_A.length] ?? 'Zen';
  const b = SYLLABLES_B[Math.floor(j / SYLLABLES_A.length) % SYLLABLES_B.length] ?? 'tix';
  const gen = Math.floor(j / (SYLLABLES_A.length * SYLLABLES_B.length));
  // Past 225 syllable pairs, a doubled consonant keeps names pronounceable yet distinct ("Zentix", "Zenntix", …).
  return gen === 0 ? a + b : a + 'n'.repeat(gen) + b;
}

export const COMPANY_SUFFIXES = [
  '', 'Labs', 'Systems', 'Cloud', 'Data', 'Networks', 'Analytics', 'Software', 'Technologies', 'Robotics', 'AI', 'Bank',
  'Health', 'Logistics', 'Media', 'Energy', 'Insurance', 'Retail', 'Games', 'Security',
] as const;

/** Suffix → industry, so "Acme Bank" is in Financial Services rather than at random. */
export const SUFFIX_INDUSTRY: Record<string, string> = {
  Bank: 'Financial Services', Insurance: 'Insurance', Health: 'Healthcare', Logistics: 'Logistics & Supply Chain',
  Media: 'Media & Entertainment', Energy: 'Energy', Retail: 'Retail', Games: 'Gaming', Security: 'Computer & Network Security',
  Robotics: 'Industrial Automation', AI: 'Computer Software', Analytics: 'Computer Software', Cloud: 'Information Technology',
};
export const INDUSTRIES = [
  'Computer Software', 'Information Technology', 'Financial Services', 'Healthcare', 'Retail', 'Telecommunications',
  'E-Learning', 'Automotive', 'Media & Entertainment', 'Logistics & Supply Chain', 'Government', 'Manufacturing',
] as const;

export const COUNTRIES: readonly (readonly [string, number])[] = [
  ['United States', 40], ['United Kingdom', 9], ['Germany', 9], ['France', 6], ['Canada', 5], ['Netherlands', 4],
  ['India', 5], ['Japan', 3], ['Brazil', 3], ['Australia', 3], ['Spain', 2], ['Sweden', 2], ['Poland', 2], ['Israel', 2],
  ['Singapore', 2], ['Nigeria', 1],
];
/** Country → top-level domain, so German companies sometimes live on .de. */
export const COUNTRY_TLD: Record<string, string> = {
  Germany: 'de', France: 'fr', 'United Kingdom': 'co.uk', Netherlands: 'nl', Japan: 'jp', Brazil: 'com.br', Spain: 'es',
  Sweden: 'se', Poland: 'pl', Australia: 'com.au', India: 'in', Canada: 'ca', Israel: 'co.il', Singapore: 'sg',
};
export const EURO_COUNTRIES = new Set(['Germany', 'France', 'Netherlands', 'Spain']);

/** Region suffix of a subsidiary and the country it is registered in. */
export const SUBSIDIARY_REGIONS = [['EMEA', 'Netherlands'], ['Europe', 'Germany'], ['APAC', 'Singapore'], ['Japan', 'Japan'], ['Deutschland', 'Germany'], ['UK', 'United Kingdom'], ['Canada', 'Canada']] as const;

/** Job titles with weights; a developer-tools vendor sees far more engineers than executives. */
export const TITLES: readonly (readonly [string, number])[] = [
  ['Software Engineer', 22], ['Senior Software Engineer', 16], ['Staff Engineer', 5], ['Principal Engineer', 3],
  ['Platform Engineer', 6], ['DevOps Engineer', 6], ['Site Reliability Engineer', 4], ['Data Engineer', 4],
  ['Developer Advocate', 3], ['Engineering Manager', 7], ['Director of Engineering', 3], ['VP of Engineering', 2],
  ['CTO', 2], ['Head of Platform', 2], ['Solutions Architect', 4], ['Product Manager', 4], ['Procurement Manager', 2],
  ['IT Director', 2], ['CFO', 1], ['CEO', 1],
];
/** Buying-committee titles for the primary deal contact. */
export const BUYER_TITLES = ['VP of Engineering', 'CTO', 'Director of Engineering', 'Head of Platform', 'Engineering Manager'] as const;

export const DEAL_ROLES = ['Decision Maker', 'Economic Buyer', 'Technical Buyer', 'Influencer', 'Evaluator'] as const;
export const DEAL_PRODUCTS = [
  'Enterprise plan', 'Team plan', 'Platform expansion', 'Self-hosted license', 'Support add-on', 'Renewal',
  'Pilot', 'Multi-region rollout', 'Seats upsell',
] as const;

export const PERSONAL_DOMAINS = ['gmail.com', 'gmail.com', 'gmail.com', 'outlook.com', 'proton.me', 'yahoo.com', 'icloud.com'] as const;
