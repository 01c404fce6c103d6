"""Progress bars of the commands that can run long (issue 17): on a terminal, stderr shows a bar
that names the command and counts the work (variants, files, rows); piped, the commands that
draw a bar only for people print nothing extra, and stdout is the same either way. The
terminal is a pseudo-terminal (POSIX only)."""
import os
import shutil
import struct
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pty = pytest.importorskip("pty")
fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")


def run(args, tty):
    """(exit status, stdout, stderr) of the CLI, stderr on a pseudo-terminal when ``tty``."""
    with open(os.devnull, "rb") as stdin:
        if not tty:
            out = subprocess.run([sys.executable, "-m", "augnoise.cli.main", *args], stdin=stdin,
                                 capture_output=True, text=True, cwd=ROOT)
            return out.returncode, out.stdout, out.stderr
        master, slave = pty.openpty()
        # a terminal of 120 columns (a new pseudo-terminal has 0, and tqdm fits its bar into that)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        proc = subprocess.Popen([sys.executable, "-m", "augnoise.cli.main", *args], stdin=stdin,
                                stdout=subprocess.PIPE, stderr=slave, cwd=ROOT)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        stdout = proc.stdout.read().decode()
        proc.wait()
        os.close(master)
        return proc.returncode, stdout, b"".join(chunks).decode(errors="replace")


def _cases(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for k in range(3):
        shutil.copy(os.path.join(ROOT, "samples", "scene.png"), src / f"img{k}.png")
    return {
        "preview": (["preview", "pipelines/image_noise.yaml", "samples/scene.png", "-n", "2", "-o", "{out}"],
                    "augnoise preview", "2/2"),
        "apply folder": (["apply", "pipelines/image_noise.yaml", str(src), "{out}"], "augnoise apply", "3/3"),
        "apply table": (["apply", "pipelines/tabular_noise.yaml", "samples/patients.csv", "{out}", "--copies", "2"],
                        "augnoise apply", "row"),
    }


@pytest.mark.parametrize("case", ["preview", "apply folder", "apply table"])
def test_a_terminal_gets_a_bar_and_the_output_is_the_same(case, tmp_path):
    args, desc, count = _cases(tmp_path)[case]
    code_t, out_t, err_t = run([a.format(out=tmp_path / "t") for a in args], tty=True)
    code_p, out_p, err_p = run([a.format(out=tmp_path / "p") for a in args], tty=False)
    assert code_t == code_p == 0, (err_t[-2000:], err_p[-2000:])
    assert desc in err_t and count in err_t  # the bar names the command and counts the work
    assert out_t.replace(str(tmp_path / "t"), "OUT") == out_p.replace(str(tmp_path / "p"), "OUT")
    if case != "apply folder":  # these draw a bar for people only; apply's file bar also goes to logs
        assert desc not in err_p
