/**
 * Reads back a zip the router produced (archive downloads), for tests here and in @agenttier/local.
 */
import yauzl from 'yauzl';

/** Every entry of a zip: directories as `/`, links as `-> target`, files as their text. */
export async function zipEntries(buf: Buffer): Promise<Record<string, string>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  const out: Record<string, string> = {};
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', reject);
        stream.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const type = (entry.externalFileAttributes >>> 16) & 0o170000;
          out[entry.fileName] = type === 0o120000 ? `-> ${body}` : entry.fileName.endsWith('/') ? '/' : body;
          zip.readEntry();
        });
      });
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return out;
}
