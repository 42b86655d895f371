"""Where a store may live: SQLite's WAL needs a local filesystem (NFS, Lustre, GPFS homes break it)."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

NETWORK_FS = {
    "nfs", "nfs4", "lustre", "gpfs", "cifs", "smb3", "smbfs", "ceph", "cephfs", "beegfs", "glusterfs",
    "fuse.sshfs", "fuse.glusterfs", "fuse.cephfs", "fuse.gcsfuse", "fuse.s3fs", "afs", "9p", "wekafs",
}


class NetworkFilesystem(OSError):
    """The run store would sit on a network filesystem."""


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding ``path`` (its nearest existing parent), '' if unknown."""
    p = Path(path).resolve()
    while not p.exists() and p != p.parent:
        p = p.parent
    best, fstype = "", ""
    try:
        parts = psutil.disk_partitions(all=True)
    except OSError:
        return ""
    for part in parts:
        mp = part.mountpoint
        if (str(p) == mp or str(p).startswith(mp.rstrip("/") + "/")) and len(mp) >= len(best):
            best, fstype = mp, part.fstype
    return fstype


def check_local(home: Path) -> None:
    """Refuse a network filesystem for run stores, saying where to put ``GRPOTUI_HOME`` instead."""
    if os.environ.get("GRPOTUI_ALLOW_NETWORK_FS") == "1":
        return
    fstype = filesystem_type(home)
    if fstype in NETWORK_FS:
        user = os.environ.get("USER", "me")
        raise NetworkFilesystem(
            f"GRPOTUI_HOME={home} is on {fstype}, a network filesystem where SQLite's WAL can corrupt the run "
            f"store: set GRPOTUI_HOME to a local disk (e.g. /tmp/{user}/grpotui, /scratch/{user}/grpotui or "
            "/local/...), or GRPOTUI_ALLOW_NETWORK_FS=1 to take the risk"
        )
