// A FUSE file system that never answers a lookup: any path under its mount
// point blocks the caller in stat()/open() until this process goes away. That
// is what a hung procfs or network file system does to a reader, and a thread
// blocked in the kernel that way cannot be interrupted from JavaScript. Plain
// ESM, no dependencies, root only (it mounts).
//
//   node stuck-fuse.mjs <mount point>
//
// Prints {"event":"ready"} once the kernel has finished FUSE_INIT, then
// {"event":"lookup","name":"…"} for each lookup it leaves unanswered. Killing
// the process aborts the connection: every blocked caller gets ENOTCONN.
//
// Message layouts are those of include/uapi/linux/fuse.h.
import { spawn } from 'node:child_process';
import { openSync, read, writeSync } from 'node:fs';

const mountPoint = process.argv[2];
if (mountPoint === undefined) {
  process.stderr.write('usage: stuck-fuse.mjs <mount point>\n');
  process.exit(2);
}

const FUSE_LOOKUP = 1;
const FUSE_FORGET = 2;
const FUSE_GETATTR = 3;
const FUSE_INIT = 26;
const FUSE_INTERRUPT = 36;
const FUSE_BATCH_FORGET = 42;
const ENOSYS = 38;
const IN_HEADER = 40; // len, opcode, unique, nodeid, uid, gid, pid, total_extlen, padding
const S_IFDIR = 0o040000;

const write = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const fd = openSync('/dev/fuse', 'r+');

function reply(unique, error, payload = Buffer.alloc(0)) {
  const out = Buffer.alloc(16 + payload.length);
  out.writeUInt32LE(out.length, 0);
  out.writeInt32LE(error, 4);
  out.writeBigUInt64LE(unique, 8);
  payload.copy(out, 16);
  writeSync(fd, out);
}

function initReply(req) {
  // fuse_init_in: major, minor, max_readahead, flags…
  const minor = req.readUInt32LE(IN_HEADER + 4);
  const maxReadahead = req.readUInt32LE(IN_HEADER + 8);
  const out = Buffer.alloc(64); // fuse_init_out; no optional feature requested
  out.writeUInt32LE(7, 0); // FUSE_KERNEL_VERSION
  out.writeUInt32LE(minor, 4);
  out.writeUInt32LE(maxReadahead, 8);
  out.writeUInt16LE(1, 16); // max_background
  out.writeUInt16LE(1, 18); // congestion_threshold
  out.writeUInt32LE(4096, 20); // max_write
  out.writeUInt32LE(1, 24); // time_gran
  return out;
}

function dirAttr(nodeid) {
  const out = Buffer.alloc(104); // fuse_attr_out: attr_valid, attr_valid_nsec, dummy, fuse_attr
  out.writeBigUInt64LE(nodeid, 16); // ino
  out.writeUInt32LE(S_IFDIR | 0o755, 16 + 60); // mode
  out.writeUInt32LE(2, 16 + 64); // nlink
  out.writeUInt32LE(4096, 16 + 80); // blksize
  return out;
}

// The kernel requires a read buffer of at least FUSE_MIN_READ_BUFFER (8192) plus max_write.
const buf = Buffer.alloc(1 << 20);
function next() {
  read(fd, buf, 0, buf.length, null, (err, n) => {
    if (err) {
      // ENODEV once the file system is unmounted.
      write({ event: 'closed', message: err.message });
      process.exit(0);
    }
    const req = buf.subarray(0, n);
    const opcode = req.readUInt32LE(4);
    const unique = req.readBigUInt64LE(8);
    const nodeid = req.readBigUInt64LE(16);
    if (opcode === FUSE_INIT) {
      reply(unique, 0, initReply(req));
      write({ event: 'ready' });
    } else if (opcode === FUSE_LOOKUP) {
      // Never answered: the caller stays blocked in the kernel.
      write({ event: 'lookup', name: req.toString('utf8', IN_HEADER, n - 1) });
    } else if (opcode === FUSE_GETATTR) {
      reply(unique, 0, dirAttr(nodeid));
    } else if (opcode !== FUSE_FORGET && opcode !== FUSE_BATCH_FORGET && opcode !== FUSE_INTERRUPT) {
      reply(unique, -ENOSYS);
    }
    next();
  });
}

// `-i`: no /sbin/mount.fuse helper; the kernel takes the device from fd 3 of mount(8).
const mount = spawn('mount', ['-i', '-t', 'fuse', '-o', 'fd=3,rootmode=40000,user_id=0,group_id=0', 'npa-stuck', mountPoint], {
  stdio: ['ignore', 'ignore', 'pipe', fd],
});
let mountErr = '';
mount.stderr.on('data', (d) => (mountErr += d.toString()));
mount.on('exit', (code) => {
  if (code !== 0) {
    write({ event: 'error', message: `mount exited with ${code}: ${mountErr.trim()}` });
    process.exit(1);
  }
  // Reading /dev/fuse before the mount has attached it fails with EPERM.
  next();
});
