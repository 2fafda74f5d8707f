import { parseReference, type Image } from '@stratum/oci';

/**
 * HistoryEntry: one row of `docker history`, in the Engine API's shape
 * (`GET /images/{name}/history`). `Size` is the size of the layer's blob as stored and
 * transferred (compressed), 0 for an entry that made no layer; Docker shows the uncompressed
 * size, which would need every layer read.
 */
export interface HistoryEntry {
  /** The image ID (config digest) for the newest entry, `<missing>` for the others, as Docker prints for pulled images. */
  Id: string;
  /** Unix seconds (0 when the entry has no date). */
  Created: number;
  CreatedBy: string;
  /** Familiar refs of the image, on the newest entry only. */
  Tags: string[];
  Size: number;
  Comment: string;
}

/**
 * history returns an image's history newest first, like `docker history` (the Engine API's
 * fields): the config's history entries matched to the layers bottom-up (an `empty_layer` entry
 * has no layer); layers the history does not account for get entries of their own. `refs`
 * become the newest entry's `Tags` (familiar form). Reads the manifest and config only.
 */
export async function history(image: Image, options: { refs?: string[] } = {}): Promise<HistoryEntry[]> {
  const [manifest, config, id] = await Promise.all([image.manifest(), image.config(), image.configDigest()]);
  const sizes = manifest.layers.map((l) => l.size);
  const rows: Array<Omit<HistoryEntry, 'Id' | 'Tags'>> = [];
  let next = 0;
  for (const h of config.history ?? []) {
    const made = h.empty_layer !== true && next < sizes.length;
    rows.push({
      Created: h.created ? Math.floor(new Date(h.created).getTime() / 1000) || 0 : 0,
      CreatedBy: h.created_by ?? '',
      Size: made ? sizes[next++]! : 0,
      Comment: h.comment ?? '',
    });
  }
  for (; next < sizes.length; next++) rows.push({ Created: 0, CreatedBy: '', Size: sizes[next]!, Comment: '' });
  const tags = (options.refs ?? []).map((r) => parseReference(r).familiar);
  return rows.reverse().map((r, i) => ({ Id: i === 0 ? id : '<missing>', ...r, Tags: i === 0 ? tags : [] }));
}
