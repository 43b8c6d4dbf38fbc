// Importing this module registers every built-in layer converter.
import './core.js';
import './conv.js';
import './pool.js';
import './merge.js';
import './recurrent.js';
import './wrappers.js';
export { applyActivation, supportedActivations } from './activations.js';
