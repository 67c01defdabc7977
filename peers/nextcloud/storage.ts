/**
 * The disk layout of the Nextcloud test peer and the file identity it shares with webdav-server: files of user
 * `u` live in `<root>/files/<u>/`, chunked uploads in `<root>/uploads/<u>/<id>/`, part files in `<root>/parts/`.
 * ETag and file id are derived from the file's inode, size and mtime, so the peer's PUT/MOVE answers and
 * webdav-server's PROPFIND agree (webdav-server's own ETag hashes only the mtime, which repeats within a ms).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { v2 as webdav } from 'webdav-server';

export function etagOf(stat: fs.Stats): string {
  return createHash('md5').update(`${stat.ino}:${stat.size}:${stat.mtimeMs}`).digest('hex');
}

/** Nextcloud's OC-FileId format: zero-padded id followed by the instance id. */
export function fileIdOf(stat: fs.Stats, instanceId: string): string {
  return `${String(stat.ino).padStart(8, '0')}${instanceId}`;
}

/** webdav-server's physical file system with the peer's ETags. */
export class PeerFileSystem extends webdav.PhysicalFileSystem {
  protected override _etag(p: webdav.Path, _ctx: webdav.ETagInfo, callback: webdav.ReturnCallback<string>): void {
    fs.stat(path.join(this.rootPath, p.toString().slice(1)), (err, stat) => {
      if (err) return callback(webdav.Errors.ResourceNotFound);
      callback(undefined, `"${etagOf(stat)}"`);
    });
  }
}

export class Layout {
  readonly files: string;
  readonly uploads: string;
  readonly parts: string;

  constructor(readonly root: string) {
    this.files = path.join(root, 'files');
    this.uploads = path.join(root, 'uploads');
    this.parts = path.join(root, 'parts');
    for (const dir of [this.files, this.uploads, this.parts]) fs.mkdirSync(dir, { recursive: true });
  }

  ensureUser(user: string): void {
    fs.mkdirSync(path.join(this.files, user), { recursive: true });
    fs.mkdirSync(path.join(this.uploads, user), { recursive: true });
  }

  /** The disk path of `/rel` in the user's files, or undefined when it would leave them. */
  userFile(user: string, rel: string): string | undefined {
    const home = path.join(this.files, user);
    const full = path.resolve(home, `.${rel.startsWith('/') ? rel : `/${rel}`}`);
    return full === home || full.startsWith(home + path.sep) ? full : undefined;
  }

  uploadDir(user: string, id: string): string | undefined {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(id) || id === '.' || id === '..') return undefined;
    return path.join(this.uploads, user, id);
  }

  partFile(): string {
    return path.join(this.parts, `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}.part`);
  }
}
