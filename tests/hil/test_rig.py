"""The rig layer and the pytest plugin: the example HIL suite (hil/examples) against the
emulated boards, over rfc2217:// to an emulated board, and skipped with the reason without one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.validate.boards import runner_board
from tinyrig_hil.rfc2217 import Rfc2217Server
from tinyrig_hil.rig import run_rig

DIGITS = REPO / "models" / "digits"
SINE = REPO / "models" / "sine"
EXAMPLES = REPO / "hil" / "examples"


def _suite(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TINYRIG_DEVICE": ""}
    return subprocess.run([sys.executable, "-m", "pytest", str(EXAMPLES), "-rs", "-q",
                           "-p", "no:cacheprovider", "--rootdir", str(REPO), *args],
                          capture_output=True, text=True, check=False, timeout=1800, env=env)


def test_rig_run_checks_every_output(tmp_path: Path) -> None:
    report = run_rig("native", DIGITS / "digits_int8.tflite", DIGITS / "validation.npz",
                     limit=30, runner=True, report_dir=tmp_path)
    assert report.samples == 30 and report.passed
    main = report.comparison("device", "tflm")
    assert main is not None and main.exact == 30
    assert report.labels["device"].accuracy == report.labels["tflm"].accuracy
    assert (tmp_path / "junit.xml").is_file()


@pytest.mark.slow
def test_example_suite_on_native_and_qemu() -> None:
    result = _suite("--tinyrig-device", "native", "--tinyrig-device", "qemu",
                    "--tinyrig-runner", "--tinyrig-model", str(SINE / "sine_int8.tflite"),
                    "--tinyrig-data", str(SINE / "validation.npz"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 passed, 1 skipped" in result.stdout, result.stdout[-2000:]
    assert "needs a real board" in result.stdout


@pytest.mark.slow
def test_example_suite_over_rfc2217_to_an_emulated_board() -> None:
    with runner_board("native") as board, Rfc2217Server(board.uart) as server:
        result = _suite("--tinyrig-device", server.url, "--tinyrig-model",
                        str(DIGITS / "digits_int8.tflite"),
                        "--tinyrig-data", str(DIGITS / "validation.npz"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "4 passed" in result.stdout, result.stdout[-2000:]


def test_without_a_device_the_suite_skips_with_the_reason() -> None:
    result = _suite()
    assert result.returncode == 0, result.stdout[-2000:]
    assert "4 skipped" in result.stdout
    assert "needs a device: pass --tinyrig-device URL" in result.stdout


def test_a_device_that_does_not_exist_skips_with_what_went_wrong() -> None:
    result = _suite("--tinyrig-device", "/dev/ttyTINYRIG404", "--tinyrig-model",
                    str(SINE / "sine_int8.tflite"))
    assert result.returncode == 0, result.stdout[-2000:]
    assert "/dev/ttyTINYRIG404 cannot be used" in result.stdout
    assert "passed" not in result.stdout and "failed" not in result.stdout


def test_hardware_tests_skip_with_a_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.hardware
        def test_needs_board(tinyrig_device):
            assert tinyrig_device.info().board
    """)
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider", "--tinyrig-device", "native")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a real board*native*emulated*"])


@pytest.mark.slow
def test_rig_file_runs_every_board_in_parallel_and_merges_the_reports(tmp_path: Path) -> None:
    """Two emulated boards, one on its pty and one behind RFC 2217: the model is uploaded once
    (the second run finds it already there), validation and the example suite run on both
    (pytest-xdist, one worker per board), and one merged report comes out."""
    import json
    from xml.etree import ElementTree

    from tinyrig_hil.locks import BoardLock
    from tinyrig_hil.rigfile import run_rig_file

    with runner_board("native") as first, runner_board("native") as second, \
            Rfc2217Server(second.uart) as server:
        rig = tmp_path / "rig.toml"
        body = f"""
            [[board]]
            name = "pty-board"
            port = "{first.uart}"

            [[board]]
            name = "remote-board"
            url = "{server.url}"
        """
        rig.write_text(f"""
            [rig]
            model = "{DIGITS / 'digits_int8.tflite'}"
            data = "{DIGITS / 'validation.npz'}"
            limit = 20
            suites = ["{EXAMPLES}"]
            report = "out"
        """ + body)
        result = subprocess.run([sys.executable, "-m", "tinyrig", "rig", "run", str(rig),
                                 "--json"], capture_output=True, text=True, check=False,
                                timeout=1800)
        assert result.returncode == 0, result.stderr + result.stdout[-2000:]
        report = json.loads(result.stdout)
        assert [b["prepared"] for b in report["boards"]] == ["uploaded", "uploaded"]
        assert all(b["report"]["samples"] == 20 for b in report["boards"])
        assert report["suites_exit_code"] == 0
        merged = ElementTree.parse(tmp_path / "out" / "junit.xml").getroot()
        names = [s.get("name", "") for s in merged]
        assert any(n.startswith("pty-board") for n in names)
        assert any(n.startswith("remote-board") for n in names)
        log = (tmp_path / "out" / "suites.log").read_text()
        assert "8 passed" in log and "bringing up nodes" in log  # pytest-xdist workers
        assert (tmp_path / "out" / "index.html").read_text().count("PASS") == 2

        # Again, without suites: nothing to upload; a board locked elsewhere waits its turn.
        again = tmp_path / "again.toml"
        again.write_text(f"""
            [rig]
            model = "{DIGITS / 'digits_int8.tflite'}"
            data = "{DIGITS / 'validation.npz'}"
            limit = 5
            report = "again"
        """ + body)
        second_run = run_rig_file(again)
        assert [b.prepared for b in second_run.boards] == ["already running the model"] * 2
        assert second_run.passed
        again.write_text(again.read_text().replace('report = "again"',
                                                   'report = "again"\nlock_timeout = 1'))
        with BoardLock(first.uart, timeout=0.5):
            blocked = run_rig_file(again)
        assert blocked.boards[0].error is not None and "in use by pid" in blocked.boards[0].error



@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    ("[rig\n", "is not valid TOML"),
    ('[rig]\nmodel = "m.tflite"\n', "names no boards"),
    ('[rig]\ndata = "d.npz"\n[[board]]\nport = "/dev/null"\n', "the rig table has no model"),
    ('[rig]\nmodel = "nope.tflite"\ndata = "d.npz"\n[[board]]\nport = "/dev/null"\n',
     "nope.tflite does not exist"),
    ('[rig]\nmodel = "m.tflite"\ndata = "d.npz"\n[[board]]\nname = "x"\n',
     "needs port, url or usb"),
])
def test_rig_file_errors_are_one_line(tmp_path: Path, content: str | None,
                                      message: str) -> None:
    (tmp_path / "m.tflite").write_bytes((SINE / "sine_int8.tflite").read_bytes())
    (tmp_path / "d.npz").write_bytes((SINE / "validation.npz").read_bytes())
    rig = tmp_path / "rig.toml"
    if content is not None:
        rig.write_text(content)
    result = subprocess.run([sys.executable, "-m", "tinyrig", "rig", "run", str(rig)],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
