export { ErrnoError } from './errors.js';
export { packageRoot } from './binding.js';
