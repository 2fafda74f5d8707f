import { randomBytes } from 'node:crypto';

/** newContainerId returns a fresh container id: 64 lowercase hex digits, like Docker's. */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** shortId returns the 12-character form of an id, as `docker ps` prints it. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** isContainerId is true for a full 64-hex id. */
export function isContainerId(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * validateContainerName checks a container name like Docker does (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`, a
 * leading `/` is accepted and dropped, at most 128 characters here) and returns it without the
 * slash. TypeError otherwise.
 */
export function validateContainerName(name: unknown): string {
  if (typeof name !== 'string') throw new TypeError(`container name must be a string, got ${typeof name}`);
  const n = name.startsWith('/') ? name.slice(1) : name;
  if (!NAME.test(n) || n.length > 128) {
    throw new TypeError(`invalid container name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (at most 128)`);
  }
  return n;
}

const LEFT = [
  'admiring', 'agitated', 'amazing', 'angry', 'awesome', 'blissful', 'bold', 'brave', 'busy', 'charming', 'clever', 'compassionate',
  'competent', 'confident', 'cool', 'dazzling', 'determined', 'eager', 'ecstatic', 'elastic', 'elated', 'elegant', 'epic', 'fervent',
  'festive', 'focused', 'friendly', 'frosty', 'gallant', 'gifted', 'goofy', 'gracious', 'happy', 'hopeful', 'hungry', 'inspiring',
  'intelligent', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical', 'modest', 'musing', 'mystifying',
  'naughty', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective', 'optimistic', 'peaceful', 'pensive', 'practical', 'priceless',
  'quirky', 'quizzical', 'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange',
  'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'upbeat', 'vibrant', 'vigilant', 'vigorous', 'wizardly',
  'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
];
const RIGHT = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bartik', 'bassi', 'bell', 'benz', 'bhabha',
  'blackwell', 'bohr', 'booth', 'borg', 'bose', 'brahmagupta', 'brattain', 'brown', 'carson', 'cerf', 'chandrasekhar', 'clarke',
  'colden', 'cori', 'cray', 'curie', 'darwin', 'davinci', 'dijkstra', 'dirac', 'easley', 'einstein', 'elion', 'engelbart', 'euclid',
  'euler', 'faraday', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo', 'gauss', 'goldberg', 'goodall', 'hamilton', 'hawking',
  'heisenberg', 'hermann', 'hodgkin', 'hopper', 'hypatia', 'jackson', 'jang', 'johnson', 'kalam', 'kepler', 'khorana', 'kilby',
  'knuth', 'lalande', 'lamarr', 'leakey', 'lovelace', 'lumiere', 'mayer', 'mccarthy', 'mcclintock', 'meitner', 'mendel',
  'minsky', 'mirzakhani', 'morse', 'napier', 'nash', 'newton', 'nobel', 'noether', 'pascal', 'pasteur', 'payne', 'perlman',
  'pike', 'poincare', 'ramanujan', 'ritchie', 'rosalind', 'sammet', 'shannon', 'shaw', 'sinoussi', 'stonebraker', 'swartz',
  'tesla', 'thompson', 'torvalds', 'turing', 'varahamihira', 'visvesvaraya', 'wescoff', 'wilbur', 'wiles', 'williams', 'wing',
  'wozniak', 'wright', 'yalow', 'yonath',
];

/** generateName returns a Docker-style random name (`adjective_scientist`), with a digit appended after `retry` > 0. */
export function generateName(retry = 0): string {
  const pick = (a: readonly string[]): string => a[randomBytes(2).readUInt16LE() % a.length]!;
  const name = `${pick(LEFT)}_${pick(RIGHT)}`;
  return retry > 0 ? `${name}${randomBytes(1)[0]! % 10}` : name;
}
