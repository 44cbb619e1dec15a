// Importing execa costs about 130 ms (it is many modules), more than `qkvm
// start` spends on its own work, so modules on hot paths load it on first use.
export const loadExeca = () => import('execa');
