/** The command's configuration resolution lives in the library (the server's hooks share it). */
export * from '../src/node/config.js';
