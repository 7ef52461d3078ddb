/**
 * Builds single-layer OCI image archives reproducibly (same inputs, same bytes, same digest) from a folder, so skiff
 * works with no registry at all: the layer is a tar with sorted names, owner 0 and mtime 0, gzipped with no timestamp.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface ImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
}

export interface BuiltImage {
  /** Full reference, e.g. skiff.local/busybox:1.35.0 */
  name: string;
  /** Digest of the manifest (what containerd reports as the repo digest). */
  manifestDigest: string;
  /** Digest of the config (the image ID). */
  configDigest: string;
  file: string;
}

const sha256 = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A tar of a folder that depends only on the names, modes and contents of the files in it. */
export function deterministicTar(dir: string): Buffer {
  return execFileSync(
    'tar',
    [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '--format=posix',
      '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
      '-C',
      dir,
      '-cf',
      '-',
      '.',
    ],
    { maxBuffer: 1 << 30 },
  );
}

function tagOf(name: string): string {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(colon + 1) : 'latest';
}

/** Writes an OCI image layout archive (index.json, oci-layout, blobs) for the folder `rootfs` to `file`. */
export function buildImageArchive(
  rootfs: string,
  name: string,
  config: ImageConfig,
  file: string,
  aliases: string[] = [],
): BuiltImage {
  const layerTar = deterministicTar(rootfs);
  const layer = gzipSync(layerTar, { level: 9 }); // node writes mtime 0 and no file name into the gzip header
  const imageConfig = Buffer.from(
    JSON.stringify({
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      config: config,
      rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
      history: [{ created_by: 'skiff image build', comment: name }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(imageConfig),
        size: imageConfig.length,
      },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    // one entry per name: containerd creates an image for each, all of the same manifest
    manifests: [name, ...aliases].map((n) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256(manifest),
      size: manifest.length,
      annotations: { 'io.containerd.image.name': n, 'org.opencontainers.image.ref.name': tagOf(n) },
    })),
  });
  const layout = mkdtempSync(path.join(os.tmpdir(), 'skiff-oci-'));
  try {
    const blobs = path.join(layout, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    for (const blob of [layer, imageConfig, manifest]) writeFileSync(path.join(blobs, sha256(blob).slice(7)), blob);
    writeFileSync(path.join(layout, 'index.json'), index);
    writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, deterministicTar(layout));
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
  return { name, manifestDigest: sha256(manifest), configDigest: sha256(imageConfig), file };
}
