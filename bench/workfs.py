"""bench/workfs.py - the benchmark's work directory on a file system of its own: a
fresh ext4 image (mkfs.ext4's defaults, so with a journal), loop-mounted over it.

Why: the servers' speed depends on the file system's history as much as on their
code. On ext4 without a journal (some cloud images' root file system), every new
inode is found by walking past each inode freed in the last 60 to 360 seconds
(the kernel's recently_deleted check), so one run's deletions (Postfix's queue
files, a previous benchmark's rmtree) slow the next run, whichever server it
measures. A fresh image has no such history, and a journal is what a mail server's
file system has in real use. Where loop devices cannot be used the work directory
stays on the file system it is on, and the machine facts say so.
"""
import os
import shutil
import subprocess

IMAGE_GIB = 16


def _run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


class WorkFS:
    def __init__(self, work):
        self.work = work
        self.image = work + ".img"
        self.mounted = False
        self.why_not = None

    def mount(self):
        """Make the image and mount it on the work dir (which must be empty); on
        failure leave the work dir as it is and say why in why_not."""
        if shutil.which("mkfs.ext4") is None or shutil.which("losetup") is None:
            self.why_not = "mkfs.ext4 or losetup is missing"
            return False
        try:
            with open(self.image, "wb") as f:
                f.truncate(IMAGE_GIB << 30)
        except OSError as e:
            self.why_not = f"cannot make {self.image}: {e}"
            return False
        # The inode tables and the journal are written now, not by ext4lazyinit
        # in the background while the servers are measured.
        steps = (["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                  self.image],
                 ["mount", "-o", "loop", self.image, self.work])
        for cmd in steps:
            p = _run(cmd)
            if p.returncode != 0:
                self.why_not = f"{cmd[0]}: {(p.stderr or p.stdout).strip()[-200:]}"
                os.unlink(self.image)
                return False
        os.chmod(self.work, 0o755)
        self.mounted = True
        return True

    def describe(self):
        if self.mounted:
            return f"a fresh {IMAGE_GIB} GiB ext4 image with a journal, loop-mounted ({self.image})"
        return f"the work dir's own file system ({self.why_not})" if self.why_not else \
            "the work dir's own file system"

    def remove(self):
        """Unmount and delete the image, then the work dir; or delete the work dir."""
        if self.mounted:
            p = _run(["umount", self.work])
            if p.returncode != 0:
                _run(["umount", "-l", self.work])
            self.mounted = False
            try:
                os.unlink(self.image)
            except OSError:
                pass
        shutil.rmtree(self.work, ignore_errors=True)
