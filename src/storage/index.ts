// The storage API: qemu-img, pools and volumes, snapshots, clones, hotplug.
export * from './qemu-img.js';
export * from './progress.js';
export * from './pool.js';
export * from './volume.js';
export * from './resolve.js';
export * from './snapshot-meta.js';
export * from './snapshots.js';
export * from './hotplug.js';
export * from './clone.js';
export * from './remove.js';
export { linkedClonesOf, readCloneRecord, type CloneRecord } from './links.js';
export { guestsUsing, backingUsers } from './usage.js';
export { readOwned, ownedFile, type OwnedImage } from './owned.js';
export { assertDiskPlacement, poolRoots } from './placement.js';
export { assertDisksUsable } from './guard.js';
