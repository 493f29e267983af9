/** Test support for other packages' tests (the helm binary the deploy tests render the chart with). */
export { extractZipEntry, helmBinary } from './helm-binary.ts';
