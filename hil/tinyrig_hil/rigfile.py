"""Rig files: a TOML naming the boards of a rig and what to run on them.

```toml
[rig]
model = "models/digits/digits_int8.tflite"   # paths relative to the rig file
data = "models/digits/validation.npz"
limit = 100                                  # optional: first N samples
fail_on = ["exact<1"]                        # optional (tinyrig validate --fail-on)
suites = ["hil/examples"]                    # optional pytest suites, run on every board
report = "rig-report"                        # merged report folder
lock_timeout = 600                           # seconds to wait for a board another run holds

[[board]]
name = "nucleo-1"
port = "/dev/ttyACM0"            # or url = "rfc2217://rig-host:4000",
                                 # or usb = "0483:374b" with serial = "0670FF48..."
env = "nucleo-f446re"            # PlatformIO env (to build firmware when flashing)
flash = "pyocd"                  # optional: a `tinyrig flash --via` method (default: the env's),
                                 # or a command of your own with {elf} {port} {env}
```

``tinyrig rig run RIG.toml`` locks each board (:mod:`tinyrig_hil.locks`), makes it run the
model — nothing when it already does (model id), an upload when its firmware takes models, else
``tinyrig flash`` (or the rig's own command) with firmware built for ``env`` — validates on all
boards in parallel, runs the suites with pytest-xdist (one worker per board), and writes one
merged report.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import tomllib

from tinyrig.device.errors import DeviceError
from tinyrig.errors import TinyrigError
from tinyrig.protocol import Feature
from tinyrig.validate import DEFAULT_CHECKS, ValidationError, ValidationReport
from tinyrig.validate.output import jsonable
from tinyrig_hil.locks import BoardLock

__all__ = ["Board", "BoardResult", "Rig", "RigReport", "load_rig", "run_rig_file"]


class RigFileError(ValidationError):
    """The rig file cannot be read or names something that does not exist."""


@dataclass(frozen=True)
class Board:
    name: str
    url: str
    env: str | None = None
    flash: str | None = None


@dataclass(frozen=True)
class Rig:
    path: Path
    model: Path
    data: Path
    labels: Path | None
    limit: int | None
    fail_on: tuple[str, ...]
    suites: tuple[Path, ...]
    report: Path
    boards: tuple[Board, ...]
    lock_timeout: float = 600.0


@dataclass(frozen=True)
class BoardResult:
    board: str
    url: str
    prepared: str  # "already running the model", "uploaded", "flashed"
    report: ValidationReport | None
    error: str | None

    @property
    def passed(self) -> bool:
        return self.error is None and self.report is not None and self.report.passed


@dataclass(frozen=True)
class RigReport:
    rig: str
    model: str
    boards: list[BoardResult]
    suites_exit_code: int | None
    files: dict[str, str]

    @property
    def passed(self) -> bool:
        return all(b.passed for b in self.boards) and self.suites_exit_code in (None, 0)


def _resolve_usb(usb: str, serial_number: str | None, where: str) -> str:
    from serial.tools import list_ports

    vid_text, _, pid_text = usb.partition(":")
    try:
        vid, pid = int(vid_text, 16), int(pid_text, 16)
    except ValueError:
        raise RigFileError(f"{where}: usb = '{usb}' is not VID:PID in hex") from None
    found = [p.device for p in list_ports.comports()
             if p.vid == vid and p.pid == pid
             and (serial_number is None or p.serial_number == serial_number)]
    if len(found) != 1:
        raise RigFileError(f"{where}: {len(found)} ports match usb {usb}"
                           + (f" serial {serial_number}" if serial_number else ""),
                           hint="check the cable, or give port = /dev/... instead")
    return str(found[0])


def load_rig(path: Path) -> Rig:
    path = Path(path)
    try:
        content = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RigFileError(f"rig file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise RigFileError(f"rig file {path} is not valid TOML: {exc}") from None
    base = path.parent
    rig = content.get("rig", {})

    def file(key: str, *, required: bool = True) -> Path | None:
        value = rig.get(key)
        if value is None:
            if required:
                raise RigFileError(f"{path}: the rig table has no {key}",
                                   hint=f'add {key} = "..." under the rig table')
            return None
        resolved = (base / str(value)).resolve()
        if not resolved.exists():
            raise RigFileError(f"{path}: {key} {resolved} does not exist")
        return resolved

    boards = []
    for index, entry in enumerate(content.get("board", [])):
        where = f"{path}: board {index + 1}"
        name = str(entry.get("name") or f"board{index + 1}")
        if "url" in entry or "port" in entry:
            url = str(entry.get("url") or entry.get("port"))
        elif "usb" in entry:
            url = _resolve_usb(str(entry["usb"]), entry.get("serial"), where)
        else:
            raise RigFileError(f"{where} ({name}) needs port, url or usb")
        boards.append(Board(name, url, entry.get("env"), entry.get("flash")))
    if not boards:
        raise RigFileError(f"{path} names no boards", hint="add a board table per board")
    if len({b.name for b in boards}) != len(boards):
        raise RigFileError(f"{path}: board names must be unique")
    model = file("model")
    data = file("data")
    assert model is not None and data is not None
    suites = tuple((base / s).resolve() for s in rig.get("suites", []))
    return Rig(path, model, data, file("labels", required=False),
               int(rig["limit"]) if "limit" in rig else None,
               tuple(rig.get("fail_on", DEFAULT_CHECKS)), suites,
               (base / str(rig.get("report", "rig-report"))).resolve(), tuple(boards),
               float(rig.get("lock_timeout", 600.0)))


def _prepare(board: Board, model: Path) -> str:
    """Make ``board`` run ``model``; say what it took."""
    from tinyrig.device import open_device
    from tinyrig.device.remote import RemoteDevice
    from tinyrig.transport import SerialTransport

    wanted = hashlib.sha256(model.read_bytes()).digest()[:8]
    with RemoteDevice(SerialTransport(board.url)) as device:
        info = device.info()
        if info.model_id == wanted and info.model_status == 0:
            return "already running the model"
        if Feature.MODEL_UPLOAD in info.features:
            device.client.upload_model(model.read_bytes(), wanted)
            return "uploaded"
    if board.env is None:
        raise DeviceError(f"{board.name} runs another model and its firmware takes no uploads",
                          hint="flash the runner firmware, or give env (and flash) in the rig "
                               "file")
    if board.flash is not None and "{" in board.flash:  # a command of the rig's own
        from tinyrig.builder.firmware import build_firmware
        from tinyrig.model.arena import measure_arena

        image = build_firmware(board.env, model, arena_bytes=measure_arena(model).arena_bytes)
        command = board.flash.format(elf=image.elf, port=board.url, env=board.env)
        done = subprocess.run(shlex.split(command), capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise DeviceError(f"{board.name}: flashing failed ({command})",
                              hint=(done.stderr or done.stdout)[-300:] or None)
        with open_device(board.url, model=model):
            pass  # checks the model id now matches
    else:  # tinyrig flash: build, write, verify, reset, check the model id
        from tinyrig.flash.api import flash

        flash(board.env, model=model, via=board.flash, port=board.url)
    return "flashed"


def _run_board(rig: Rig, board: Board) -> BoardResult:
    from tinyrig.validate import validate_url

    try:
        with BoardLock(board.url, timeout=rig.lock_timeout):
            prepared = _prepare(board, rig.model)
            report = validate_url(board.url, rig.model, rig.data, labels=rig.labels,
                                  limit=rig.limit, checks=rig.fail_on,
                                  report_dir=rig.report / board.name)
        return BoardResult(board.name, board.url, prepared, report, None)
    except TinyrigError as exc:
        return BoardResult(board.name, board.url, "", None, exc.message)


def _run_suites(rig: Rig) -> int | None:
    if not rig.suites:
        return None
    args = [sys.executable, "-m", "pytest", *map(str, rig.suites), "-q", "-rs",
            "-p", "no:cacheprovider", "--tinyrig-model", str(rig.model),
            "--tinyrig-data", str(rig.data), "--tinyrig-report", str(rig.report / "suites"),
            "--junitxml", str(rig.report / "suites.xml")]
    for board in rig.boards:
        args += ["--tinyrig-device", board.url]
    if importlib.util.find_spec("xdist") is not None:
        args += ["-n", str(len(rig.boards)), "--dist", "loadgroup"]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    (rig.report / "suites.log").write_text(done.stdout + done.stderr)
    return done.returncode


def _merge(rig: Rig, results: list[BoardResult], suites: int | None) -> dict[str, str]:
    root = ElementTree.Element("testsuites", name=f"tinyrig rig {rig.path.name}")
    for result in results:
        junit = rig.report / result.board / "junit.xml"
        if junit.is_file():
            suite = ElementTree.parse(junit).getroot()
            suite.set("name", f"{result.board}: {suite.get('name', '')}")
            root.append(suite)
        else:
            suite = ElementTree.SubElement(root, "testsuite", name=result.board, tests="1",
                                           errors="1", failures="0")
            case = ElementTree.SubElement(suite, "testcase", classname=result.board,
                                          name="prepare")
            ElementTree.SubElement(case, "error", message=result.error or "not run")
    suites_xml = rig.report / "suites.xml"
    if suites_xml.is_file():
        parsed = ElementTree.parse(suites_xml).getroot()
        root.extend(list(parsed) if parsed.tag == "testsuites" else [parsed])
    ElementTree.indent(root)
    files = {"junit": rig.report / "junit.xml", "json": rig.report / "rig.json",
             "html": rig.report / "index.html"}
    files["junit"].write_text(ElementTree.tostring(root, encoding="unicode"))
    rows = "".join(
        f"<tr><td>{html.escape(r.board)}</td><td>{html.escape(r.url)}</td>"
        f"<td>{html.escape(r.prepared)}</td>"
        f"<td>{'' if r.report is None else f'{r.report.samples}/{r.report.requested}'}</td>"
        f"<td class=\"{'pass' if r.passed else 'fail'}\">{'PASS' if r.passed else 'FAIL'}"
        f"</td><td>{html.escape(r.error or '')}"
        + ("" if r.report is None else
           f' <a href="{html.escape(r.board)}/report.html">report</a>') + "</td></tr>"
        for r in results)
    suites_row = ("" if suites is None else
                  f"<p>suites: exit code {suites} (<a href=\"suites.log\">log</a>)</p>")
    files["html"].write_text(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>tinyrig rig {html.escape(rig.path.name)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem}td,th{border:1px solid #ccc;"
        "padding:.3rem .6rem}table{border-collapse:collapse}.pass{color:#1a7f37}"
        ".fail{color:#cf222e}</style></head><body>"
        f"<h1>tinyrig rig: {html.escape(rig.model.name)}</h1><table><tr><th>board</th>"
        "<th>url</th><th>prepared</th><th>samples</th><th>result</th><th></th></tr>"
        f"{rows}</table>{suites_row}</body></html>\n")
    return {k: str(v) for k, v in files.items()}


def run_rig_file(path: Path) -> RigReport:
    rig = load_rig(path)
    rig.report.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=len(rig.boards)) as pool:
        results = list(pool.map(lambda board: _run_board(rig, board), rig.boards))
    suites = _run_suites(rig)
    files = _merge(rig, results, suites)
    report = RigReport(str(rig.path), rig.model.name, results, suites, files)
    files["json"] = str(rig.report / "rig.json")
    Path(files["json"]).write_text(json.dumps(jsonable(report), indent=2))
    return report
