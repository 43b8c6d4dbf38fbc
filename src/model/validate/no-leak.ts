import * as tf from '@tensorflow/tfjs';

/*
 * A failed load must not leave tensors behind: tf.loadLayersModel builds the model (variables)
 * and decodes the weights (tensors) before it checks that they match, and throws without freeing
 * either; a graph model likewise. This runs the load in an engine scope and, on failure, frees
 * what the scope tracked plus the variables registered meanwhile. On success everything is
 * handed to the caller untouched.
 */

/**
 * Run `fn` (a model load or another step that allocates tensors) so that, if it throws, every
 * tensor and variable it allocated is disposed. Tensors other code allocates concurrently while
 * `fn` awaits would be counted as its own: use it around sequential steps (as the loaders do).
 *
 * @example
 * const model = await releaseOnFailure(() => tf.loadLayersModel(handler));
 */
export async function releaseOnFailure<T>(fn: () => Promise<T>): Promise<T> {
  const engine = tf.engine();
  const varsBefore = new Set(Object.keys(engine.registeredVariables));
  engine.startScope('releaseOnFailure');
  const mine = engine.state.activeScope;
  let ok = false;
  try {
    const result = await fn();
    ok = true;
    return result;
  } finally {
    // Only close the scope if it is still the innermost one (an unbalanced inner scope would make
    // endScope pop the wrong one).
    if (engine.state.activeScope === mine) {
      if (ok) engine.endScope(mine.track.slice());
      else engine.endScope();
    }
    if (!ok) {
      for (const [name, v] of Object.entries(engine.registeredVariables)) {
        if (!varsBefore.has(name) && !v.isDisposed) v.dispose();
      }
    }
  }
}
