"""Files named by audio pipelines (issue 14): BackgroundNoise ``paths`` stay inside the pipeline's
folder unless the caller allows more, only regular files are opened, one message for missing or
unreadable files, headers are bounded before decoding, folder walks are bounded and loop-safe."""
import os
import re
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

import augnoise
from augnoise.audio import BackgroundNoise, background
from augnoise.audio import io as audio_io
from augnoise.audio.io import read_audio
from augnoise.core.files import UNREADABLE
from tests.conftest import ROOT

OUTSIDE = "lies outside the pipeline's folder"


def noise_file(path, n=800, rate=8000, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32), rate)
    return path


def pipeline(folder, paths):
    """A pipeline file in ``folder`` naming ``paths`` (YAML flow scalars, quoted)."""
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / "p.yaml"
    f.write_text(f"seed: 1\nsample:\n  - audio.BackgroundNoise: {{paths: {paths!r}, snr_db: 10}}\n")
    return f


def load_error(f, **kw):
    """The problem text of loading ``f`` (after the 'paths: ' field label)."""
    with pytest.raises(augnoise.ConfigError) as info:
        augnoise.load(f, **kw)
    msg = str(info.value)
    assert "\n" not in msg and "paths: " in msg
    return msg.split("paths: ", 1)[1]


def promptly(fn, unblock=(), timeout=60.0):
    """Run ``fn`` in a thread; a hang guard only (generous), not a speed assertion. On a hang,
    open the FIFOs in ``unblock`` for writing so the stuck reader returns, then fail."""
    out = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - handed back to the test
            out["error"] = err

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        for fifo in unblock:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        pytest.fail("hung: a FIFO or a link loop was followed")
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_issue14_noise_paths_confined(tmp_path, monkeypatch):
    cfg, outside, home = tmp_path / "cfg", tmp_path / "outside", tmp_path / "home"
    noise_file(cfg / "noise" / "a.wav")
    target = noise_file(outside / "o.wav", seed=1)
    noise_file(home / "h.wav", seed=2)
    monkeypatch.setenv("HOME", str(home))
    (cfg / "linked").mkdir()
    (cfg / "linked" / "link.wav").symlink_to(target)

    cases = {str(target): target, "../outside/o.wav": target, "~/h.wav": home / "h.wav", "linked": target}
    for written, real in cases.items():
        f = pipeline(cfg, written)
        shown = "linked/link.wav" if written == "linked" else written
        present = load_error(f)
        assert present.startswith(f"'{shown}' {OUTSIDE}"), present
        assert str(tmp_path) not in present.replace(written, "")  # never the resolved path
        data = real.read_bytes()
        real.unlink()
        try:
            assert load_error(f) == present  # same message whether the target exists or not
        finally:
            real.write_bytes(data)

    # the caller widens the policy explicitly
    for written in (str(target), "../outside/o.wav", "linked"):
        p = augnoise.load(pipeline(cfg, written), allow_paths=[outside])
        assert len(p.sample[0].files) == 1
    assert len(augnoise.load(pipeline(cfg, "~/h.wav"), allow_paths=["~"]).sample[0].files) == 1
    assert len(augnoise.load(pipeline(cfg, "noise")).sample[0].files) == 1  # inside: fine
    # a pipeline built in Python by its author is not confined
    assert BackgroundNoise(paths=str(target)).files[0].path == str(target)
    assert BackgroundNoise(paths=str(cfg / "linked")).files[0].path == str(cfg / "linked" / "link.wav")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_issue14_noise_fifo_not_opened(tmp_path):
    cfg = tmp_path / "cfg"
    noise_file(cfg / "noise" / "a.wav")
    fifo = cfg / "noise" / "f.wav"
    os.mkfifo(fifo)
    fifos = [fifo]

    # in a walked folder a FIFO is skipped, never opened
    p = promptly(lambda: augnoise.load(pipeline(cfg, "noise")), fifos)
    assert [f.shown for f in p.sample[0].files] == ["noise/a.wav"]
    assert [f.shown for f in promptly(lambda: BackgroundNoise(paths=str(cfg / "noise")), fifos).files] == [
        f"{cfg / 'noise'}/a.wav"]

    # named directly: the one message, promptly
    msg = promptly(lambda: load_error(pipeline(cfg, "noise/f.wav")), fifos)
    assert msg == f"'noise/f.wav': {UNREADABLE}"
    with pytest.raises(augnoise.ParamError, match=re.escape(UNREADABLE)):
        promptly(lambda: BackgroundNoise(paths=str(fifo)), fifos)
    # the CLI's audio reader does not open it either
    with pytest.raises(augnoise.InputError, match="not a readable audio file"):
        promptly(lambda: read_audio(fifo), fifos)


def test_issue14_noise_missing_vs_unreadable_same_message(tmp_path):
    def garbage(p):
        p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")

    def text(p):
        p.write_text("root:x:0:0:root:/root:/bin/bash\n")

    def locked(p):  # unreadable for a normal user; for root it is garbage: same message either way
        garbage(p)
        p.chmod(0)

    def fifo(p):
        os.mkfifo(p)

    def dangling(p):
        p.symlink_to(p.parent / "gone.wav")

    def empty(p):
        p.write_bytes(b"")

    makers = {"missing": lambda p: None, "garbage": garbage, "text": text, "locked": locked,
              "empty": empty, "dangling": dangling}
    if hasattr(os, "mkfifo"):
        makers["fifo"] = fifo
    yaml_msgs, py_msgs = {}, {}
    for case, make in makers.items():
        folder = tmp_path / case
        folder.mkdir()
        make(folder / "n.wav")
        yaml_msgs[case] = promptly(lambda: load_error(pipeline(folder, "n.wav")))
        with pytest.raises(augnoise.ParamError) as info:
            promptly(lambda: BackgroundNoise(paths=str(folder / "n.wav")))
        py_msgs[case] = str(info.value).replace(str(folder), "<F>")
    assert set(yaml_msgs.values()) == {f"'n.wav': {UNREADABLE}"}, yaml_msgs
    assert set(py_msgs.values()) == {f"audio.BackgroundNoise: paths: '<F>/n.wav': {UNREADABLE}"}, py_msgs

    # a system file and a missing one: refused alike under load; one message in Python too
    refused = {load_error(pipeline(tmp_path / "sys", name)).replace(name, "<P>")
               for name in ("/etc/passwd", "/etc/nonexistent-augnoise")}
    assert len(refused) == 1 and refused.pop().startswith(f"'<P>' {OUTSIDE}")
    msgs = set()
    for name in ("/etc/passwd", "/etc/nonexistent-augnoise"):
        with pytest.raises(augnoise.ParamError) as info:
            BackgroundNoise(paths=name)
        msgs.add(str(info.value).replace(name, "<P>"))
    assert msgs == {f"audio.BackgroundNoise: paths: '<P>': {UNREADABLE}"}

    # the name is written as in the pipeline, escaped to one printable line
    with pytest.raises(augnoise.ParamError) as info:
        BackgroundNoise(paths=str(tmp_path / "a\nb\x1b[31m.wav"))
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value) and "a\\nb\\x1b[31m.wav" in str(info.value)


def _wav_with_rate(path, rate):
    noise_file(path)
    raw = bytearray(path.read_bytes())
    fmt = raw.index(b"fmt ")
    struct.pack_into("<I", raw, fmt + 12, rate)  # the sample-rate field of the fmt chunk
    path.write_bytes(bytes(raw))
    return path


def test_issue14_wav_header_rate_refused(tmp_path, monkeypatch):
    bad = _wav_with_rate(tmp_path / "fast.wav", 400_000_000)
    assert sf.info(bad).samplerate == 400_000_000  # libsndfile itself takes the header at its word
    claim = "sample rate of 400000000 Hz, outside 1..384000 Hz"
    with pytest.raises(augnoise.ParamError, match=claim):
        BackgroundNoise(paths=str(bad))
    f = pipeline(tmp_path, "fast.wav")
    assert claim in load_error(f)
    with pytest.raises(augnoise.InputError, match=f"^{re.escape(str(bad))}: the header declares a {claim}"):
        read_audio(bad)
    out = subprocess.run([sys.executable, "-m", "augnoise.cli.main", "preview", "pipelines/audio_noise.yaml", str(bad),
                          "-n", "1", "-o", str(tmp_path / "o")], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1 and claim in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
    _wav_with_rate(tmp_path / "zero.wav", 0)  # libsndfile refuses this one itself: still one line
    assert load_error(pipeline(tmp_path, "zero.wav")) in (f"'zero.wav': {UNREADABLE}", "noise file 'zero.wav': "
                                                          "the header declares a sample rate of 0 Hz, outside 1..384000 Hz "
                                                          "(a corrupt or hostile header)")

    # decoded length from the header, before decoding (limit lowered for the test)
    monkeypatch.setattr(audio_io, "MAX_SAMPLES", 1000)
    long = noise_file(tmp_path / "long.wav", n=1001)
    with pytest.raises(augnoise.ParamError, match="1001 frames x 1 channels = 1001 samples; the limit is 1000"):
        BackgroundNoise(paths=str(long))
    with pytest.raises(augnoise.InputError, match="the limit is 1000"):
        read_audio(long)
    monkeypatch.undo()

    # at call time the sample's rate is bounded, and so is the resampled size
    t = BackgroundNoise(paths=str(noise_file(tmp_path / "ok.wav", n=8000)), snr_db=10)
    clip = {"audio": np.full(100, 0.1, np.float32)}
    pipe = augnoise.Pipeline(sample=[t], seed=0)
    with pytest.raises(augnoise.InputError, match="sample_rate 400000000 is outside 1..384000 Hz"):
        pipe({**clip, "sample_rate": 400_000_000}, index=0)
    background._decoded.cache_clear()
    monkeypatch.setattr(background, "MAX_SAMPLES", 20_000)
    with pytest.raises(augnoise.InputError, match=r"resampled from 8000 Hz to 48000 Hz would hold 48000 samples; the limit"):
        pipe({**clip, "sample_rate": 48000}, index=0)
    assert pipe({**clip, "sample_rate": 16000}, index=0)["audio"].shape == (100,)


def test_issue14_noise_symlink_loop(tmp_path):
    cfg = tmp_path / "cfg"
    noise_file(cfg / "noise" / "a.wav")
    (cfg / "noise" / "again").symlink_to(cfg / "noise")  # a folder linking to itself
    (cfg / "noise" / "sub").mkdir()
    (cfg / "noise" / "sub" / "up").symlink_to("..")  # back to the parent
    (cfg / "noise" / "self.wav").symlink_to("self.wav")  # a link to itself
    (cfg / "noise" / "x.wav").symlink_to("y.wav")
    (cfg / "noise" / "y.wav").symlink_to("x.wav")  # two links to each other
    p = promptly(lambda: augnoise.load(pipeline(cfg, "noise")))
    assert [f.shown for f in p.sample[0].files] == ["noise/a.wav"]
    t = promptly(lambda: BackgroundNoise(paths=str(cfg / "noise")))
    assert [f.path for f in t.files] == [str(cfg / "noise" / "a.wav")]
    assert UNREADABLE in load_error(pipeline(cfg, "noise/self.wav"))


def test_issue14_noise_walk_bounded(tmp_path, monkeypatch):
    for i in range(5):
        noise_file(tmp_path / "many" / f"{i}.wav", seed=i)
    monkeypatch.setattr(background, "MAX_NOISE_FILES", 4)
    with pytest.raises(augnoise.ParamError, match=r"'.*many': more than 4 noise files, the limit for one step"):
        BackgroundNoise(paths=str(tmp_path / "many"))
    # the limit counts all entries of one step together
    with pytest.raises(augnoise.ParamError, match="more than 4 noise files"):
        BackgroundNoise(paths=[str(tmp_path / "many" / "0.wav")] * 5)
    monkeypatch.setattr(background, "MAX_NOISE_FILES", 5)
    assert len(BackgroundNoise(paths=str(tmp_path / "many")).files) == 5

    # a big tree: the walk stops counting at the bound instead of walking on
    big = tmp_path / "big"
    for d in range(10):
        for i in range(10):
            (big / f"d{d}").mkdir(parents=True, exist_ok=True)
            (big / f"d{d}" / f"{i}.txt").write_text("x")
    noise_file(big / "d9" / "late.wav")
    seen = []
    real_scandir = os.scandir

    class Counting:
        def __init__(self, path):
            self.it = real_scandir(path)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.it.close()

        def __iter__(self):
            for e in self.it:
                seen.append(e.name)
                yield e

    monkeypatch.setattr(background.os, "scandir", Counting)
    monkeypatch.setattr(background, "MAX_WALK_ENTRIES", 25)
    with pytest.raises(augnoise.ParamError, match=r"folder '.*big': the walk stopped after 25 entries"):
        BackgroundNoise(paths=str(big))
    assert len(seen) == 26  # 111 entries in the tree; the walk examined one past the bound and stopped
    monkeypatch.setattr(background, "MAX_WALK_ENTRIES", 111)
    assert [f.shown for f in BackgroundNoise(paths=str(big)).files] == [f"{big}/d9/late.wav"]
