"""The ``predict`` and ``export`` commands on a user's own recording: a bundle to label with, one
``error:`` line (exit 2) for every user error, and no repair that silently throws a recording away.

Each case is a file as a device or another tool writes it (HAPT test subject 2's real samples, in g,
with the time column, header, encoding or units of that device); the bundle holds a random WRN16-1
with the profile of the HAPT training windows, so the checks are the real ones. The generated folder
of bad inputs at the end runs every one through the command and accepts only an ``error:`` line with
exit status 2, or a labelled table with exit status 0: never a traceback, never a stray warning.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mglwkd_lite import cli, deploy
from mglwkd_lite import data as D
from mglwkd_lite.models import wrn1d

REPO_ROOT = Path(__file__).resolve().parents[1]
EPOCH = 1_657_530_000  # 2022-07-11 09:00 UTC


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """A bundle with the profile of the HAPT training windows (50 Hz, 128-sample windows, in g)."""
    torch.manual_seed(0)
    model = wrn1d(16, 1, in_channels=3, num_classes=6).eval()
    return deploy.student_bundle(model, D.prepare("hapt", "quick"), tmp_path_factory.mktemp("bundle") / "student.pt",
                                 {"method": "test"})


@pytest.fixture(scope="module")
def acc() -> np.ndarray:
    """HAPT test subject 2's samples (50 Hz, in g): what a phone at the waist records."""
    return D.load_dataset("hapt").recording(2)[0].astype(np.float64)


def write(path: Path, time, acc: np.ndarray, *, header: str = "time,x,y,z", sep: str = ",", end: str = "",
          before: str = "", encoding: str = "utf-8") -> Path:
    """A CSV export: ``before`` lines, the header, then one row per sample (``end`` after each row)."""
    rows = [f"{t}{sep}{a[0]:.5f}{sep}{a[1]:.5f}{sep}{a[2]:.5f}{end}" for t, a in zip(time, acc)]
    path.write_text(before + header + "\n" + "\n".join(rows) + "\n", encoding=encoding)
    return path


def run(*args, **kwargs) -> tuple[int, str, str]:
    """``python -m mglwkd_lite ...`` in this process: status, stdout, stderr; no other warning allowed."""
    capsys = kwargs.pop("capsys")
    with warnings.catch_warnings(record=True) as stray:
        warnings.simplefilter("always")
        try:
            rc = cli.main([*map(str, args), "--no-progress"])
        except SystemExit as exit_:  # a bad command line: argparse exits
            rc = exit_.code
    captured = capsys.readouterr()
    assert not stray, [f"{w.category.__name__}: {w.message}" for w in stray]
    return rc, captured.out, captured.err


def one_error(rc: int, out: str, err: str) -> str:
    """The one ``error:`` line of a failed run (asserting there is nothing else but warnings)."""
    lines = err.strip().splitlines()
    assert rc == 2 and out == "", (rc, out, err)
    assert lines and lines[-1].startswith("error: ") and "Traceback" not in err, err
    assert all(line.startswith("warning: ") for line in lines[:-1]), err
    return lines[-1]


def ok(rc: int, out: str, err: str) -> list[str]:
    """The warning lines of a successful run (asserting there is nothing else)."""
    assert rc == 0 and "windows labelled" in out, (rc, out, err)
    lines = err.strip().splitlines()
    assert all(line.startswith("warning: ") for line in lines), err
    return lines


# --------------------------------------------------------------------------------------------------
# the bundle: where it comes from, and damaged ones


def test_help_says_where_a_bundle_comes_from_and_what_it_expects(capsys):
    with pytest.raises(SystemExit):
        cli.main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "python -m mglwkd_lite export -o student.pt" in text and "save_bundle" not in text
    assert "2.56 s = 128 samples every 1.28 s" in text and "(less than one stride) are not labelled" in text
    with pytest.raises(SystemExit):
        cli.main(["export", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "-0.59 [-2.05, +0.86]" in text and "(default: scratch" not in text and "(default: full)" in text


@pytest.mark.parametrize("command", ["predict", "export"])
def test_every_option_has_help_and_its_default(command):
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)).choices[command]
    for action in sub._actions:
        if not action.option_strings or action.dest == "help":
            continue
        assert action.help, f"{action.option_strings} has no help"
        shown = sub.formatter_class("prog")._get_help_string(action)
        assert action.required or "default" in shown, f"{action.option_strings}: no default shown: {shown}"


def _damaged(bundle: Path, tmp_path: Path, change) -> Path:
    payload = torch.load(bundle, weights_only=True)
    change(payload)
    torch.save(payload, tmp_path / "damaged.pt")
    return tmp_path / "damaged.pt"


def _drop(*keys):
    def change(payload):
        target = payload
        for k in keys[:-1]:
            target = target[k]
        del target[keys[-1]]
    return change


DAMAGE = {
    "no spec": (lambda p: p.pop("spec"), "no 'spec' field"),
    "unknown spec key": (lambda p: p["spec"].update(colour="red"), "its spec has unknown field 'colour'"),
    "no classes": (_drop("classes"), "no 'classes' field"),
    "no mean": (_drop("mean"), "no 'mean' field"),
    "no metadata": (_drop("metadata"), "no 'metadata' field"),
    "no profile threshold": (_drop("profile", "threshold"), "its profile has no 'threshold' field"),
    "unknown field": (lambda p: p.update(extra=1), "unknown field 'extra'"),
    "classes of another length": (lambda p: p["classes"].pop(), "5 class names for a network of 6 outputs"),
    "weights of another network": (lambda p: p["spec"].update(width=2), "weights do not match"),
    "metadata not JSON": (lambda p: p.update(metadata="{"), "'metadata' is not JSON text"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_bundle_names_the_field(tmp_path, bundle, acc, capsys, case):
    change, expected = DAMAGE[case]
    damaged = _damaged(bundle, tmp_path, change)
    rec = write(tmp_path / "rec.csv", np.arange(400) / 50, acc[:400])
    line = one_error(*run("predict", rec, "--model", damaged, capsys=capsys))
    assert expected in line and "damaged.pt" in line, line


def test_random_bytes_and_a_checkpoint_are_refused_in_one_line(tmp_path, acc, capsys):
    rec = write(tmp_path / "rec.csv", np.arange(400) / 50, acc[:400])
    junk = tmp_path / "junk.pt"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    rc, out, err = run("predict", rec, "--model", junk, capsys=capsys)
    line = one_error(rc, out, err)
    assert "not a readable model bundle" in line and err.count("\n") == 1
    assert "weights_only" not in err and "PyTorch" not in err
    checkpoint = tmp_path / "scratch-0123.pt"
    torch.save({"format": "mglwkd-lite-checkpoint/1", "state_dict": {}}, checkpoint)
    line = one_error(*run("predict", rec, "--model", checkpoint, capsys=capsys))
    assert "a training checkpoint of the cache, not a model bundle" in line and "mglwkd_lite export" in line


def test_the_other_exports_beside_a_bundle_are_named(tmp_path, acc, capsys):
    """Notebook 07's folder holds the student as a state dict, TorchScript and ONNX beside the bundle."""
    rec = write(tmp_path / "rec.csv", np.arange(400) / 50, acc[:400])
    model = wrn1d(16, 1, in_channels=3, num_classes=6).eval()
    torch.save(model.state_dict(), tmp_path / "student.state.pt")
    expected = {tmp_path / "student.state.pt": "a network's weights alone (a state dict), not a model bundle",
                deploy.export_torchscript(model, tmp_path / "student.ts.pt"): "a TorchScript export, not a model bundle",
                deploy.export_onnx(model, tmp_path / "student.onnx"): "an ONNX export, not a model bundle: pass it with "
                                                                     "--onnx"}
    for path, words in expected.items():
        line = one_error(*run("predict", rec, "--model", path, capsys=capsys))
        assert words in line and "python -m mglwkd_lite export" in line, line


# --------------------------------------------------------------------------------------------------
# parse errors: the line and the likely cause


def test_comment_lines_and_a_preamble_before_the_header_are_skipped(tmp_path, bundle, acc, capsys):
    t = np.arange(1000) / 50
    plain = write(tmp_path / "plain.csv", t, acc[:1000])
    ok(*run("predict", plain, "--model", bundle, "-o", tmp_path / "plain.out.csv", capsys=capsys))
    expected = pd.read_csv(tmp_path / "plain.out.csv")
    for name, before in (("comments", "# exported by SensorApp 1.2\n# rate: 50, 60, 100\n"),
                         ("preamble", "Device: Pixel 6\nSampling rate: 50 Hz\n\n")):
        rec = write(tmp_path / f"{name}.csv", t, acc[:1000], before=before)
        warned = ok(*run("predict", rec, "--model", bundle, "-o", tmp_path / f"{name}.out.csv", capsys=capsys))
        assert any("skipped_lines=" in w and "header on line" in w for w in warned), warned
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / f"{name}.out.csv"), expected)
    rec = write(tmp_path / "given.csv", t, acc[:1000], before="a\nb\nc\n")
    ok(*run("predict", rec, "--model", bundle, "--skip-rows", "3", "-o", tmp_path / "given.out.csv", capsys=capsys))


def test_a_trailing_separator_is_read_as_the_row_end(tmp_path, bundle, acc, capsys):
    t = np.arange(1000) / 50
    write(tmp_path / "plain.csv", t, acc[:1000])
    write(tmp_path / "trailing.csv", t, acc[:1000], end=",")
    for name in ("plain", "trailing"):
        ok(*run("predict", tmp_path / f"{name}.csv", "--model", bundle, "-o", tmp_path / f"{name}.out.csv",
                capsys=capsys))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "trailing.out.csv"), pd.read_csv(tmp_path / "plain.out.csv"))


PARSE_ERRORS = {
    "a row with an extra field": (lambda r: r[:100] + [r[100] + ",7"] + r[101:], [],
                                  "line 102 has 5 fields, but the header (line 1) has 4"),
    "an unbalanced quote": (lambda r: r[:100] + [r[100].replace(",", ',"', 1)] + r[101:], [],
                            "line 102 opens a quote (\") that is never closed"),
    "an empty separator": (lambda r: r, ["--sep", ""], "sep must be one character"),
    "a two-letter separator": (lambda r: r, ["--sep", ";;"], "sep must be one character"),
    "a comma for both": (lambda r: r, ["--decimal", ","], "the separator and the decimal mark are both ','"),
}


@pytest.mark.parametrize("case", list(PARSE_ERRORS))
def test_parse_errors_name_the_line_and_the_cause(tmp_path, bundle, acc, capsys, case):
    edit, extra, expected = PARSE_ERRORS[case]
    rows = [f"{i / 50},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f}" for i, a in enumerate(acc[:1000])]
    rec = tmp_path / "rec.csv"
    rec.write_text("time,x,y,z\n" + "\n".join(edit(rows)) + "\n")
    line = one_error(*run("predict", rec, "--model", bundle, *extra, capsys=capsys))
    assert expected in line, line


def test_decimal_commas(tmp_path, bundle, acc, capsys):
    t = np.arange(1000) / 50
    write(tmp_path / "dot.csv", t, acc[:1000], header="time;x;y;z", sep=";")
    comma = tmp_path / "comma.csv"
    comma.write_text((tmp_path / "dot.csv").read_text().replace(".", ","))
    line = one_error(*run("predict", comma, "--model", bundle, "--sep", ";", capsys=capsys))
    assert "decimal comma: pass decimal=',' (--decimal ,)" in line
    for name, extra in (("dot", []), ("comma", ["--decimal", ","])):
        ok(*run("predict", tmp_path / f"{name}.csv", "--model", bundle, "--sep", ";", *extra,
                "-o", tmp_path / f"{name}.out.csv", capsys=capsys))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "comma.out.csv"), pd.read_csv(tmp_path / "dot.out.csv"))


@pytest.mark.parametrize("order", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_recognised(tmp_path, bundle, acc, capsys, order):
    rec = write(tmp_path / "rec.csv", np.arange(1000) / 50, acc[:1000], encoding=order)
    assert not rec.read_bytes().startswith((b"\xff\xfe", b"\xfe\xff"))
    line = one_error(*run("predict", rec, "--model", bundle, capsys=capsys))
    assert f"UTF-16 without a byte-order mark; pass encoding='{order}' (--encoding {order}" in line
    assert "\\x00" not in line
    ok(*run("predict", rec, "--model", bundle, "--encoding", order, capsys=capsys))


# --------------------------------------------------------------------------------------------------
# time stamps that cannot hold the samples: an error, never a repair


def _iso(seconds: np.ndarray, spec: str = "seconds") -> list[str]:
    stamps = pd.to_datetime(np.round(seconds * 1e6).astype(np.int64), unit="us", utc=True)
    return [t.isoformat(timespec=spec) for t in stamps]


def test_stamps_to_the_whole_second_stop_with_the_rate_that_fixes_them(tmp_path, bundle, acc, capsys):
    n = 3000
    t = np.arange(n) / 50
    rec = write(tmp_path / "iso.csv", _iso(np.floor(EPOCH + t)), acc[:n])
    line = one_error(*run("predict", rec, "--model", bundle, capsys=capsys))
    assert "repeats the time stamp of the row before on 2940 of 3000 rows" in line
    assert "step by 1 s" in line and "about 50 Hz" in line and "--rate 50" in line
    warned = ok(*run("predict", rec, "--model", bundle, "--rate", "50", "-o", tmp_path / "out.csv", capsys=capsys))
    assert any("rebuilt_time=3000" in w for w in warned), warned
    table = pd.read_csv(tmp_path / "out.csv")
    assert len(table) == len(deploy.sliding_starts(n, 128, 64)) and table["start_s"].iloc[0] == EPOCH
    # The same samples with exact stamps give the same labels.
    exact = write(tmp_path / "exact.csv", _iso(EPOCH + t, "milliseconds"), acc[:n])
    ok(*run("predict", exact, "--model", bundle, "-o", tmp_path / "exact.out.csv", capsys=capsys))
    assert (pd.read_csv(tmp_path / "exact.out.csv")["activity"] == table["activity"]).all()
    # A rate that does not fit the stamps is refused.
    line = one_error(*run("predict", rec, "--model", bundle, "--rate", "100", capsys=capsys))
    assert "the rate given does not fit the time stamps" in line


def test_stamps_rounded_to_a_tenth_of_a_second_stop(tmp_path, bundle, acc, capsys):
    rec = write(tmp_path / "tenth.csv", np.round(np.arange(3000) / 50, 1), acc[:3000])
    line = one_error(*run("predict", rec, "--model", bundle, capsys=capsys))
    assert "step by 0.1 s" in line and "about 49.9 Hz" in line and "--rate 50" in line


def test_series_that_each_start_at_zero_stop(tmp_path, bundle, acc, capsys):
    t = np.tile(np.arange(300) / 50, 11)  # seglearn-style: 11 series one after another
    rec = write(tmp_path / "series.csv", t, acc[:3300])
    line = one_error(*run("predict", rec, "--model", bundle, capsys=capsys))
    assert "start again from the first one 10 times" in line and "11 series" in line and "--subject-col" in line
    with_ids = tmp_path / "series_ids.csv"
    text = rec.read_text().splitlines()
    with_ids.write_text("\n".join([text[0] + ",series"] + [f"{r},{i // 300}" for i, r in enumerate(text[1:])]) + "\n")
    rc, out, err = run("predict", with_ids, "--model", bundle, "--subject-col", "series", "-o", tmp_path / "o.csv",
                       capsys=capsys)
    ok(rc, out, err)
    assert pd.read_csv(tmp_path / "o.csv")["subject"].nunique() == 11


def test_epoch_stamps_with_six_digits_stop(tmp_path, bundle, acc, capsys):
    t = [f"{EPOCH + i / 50:.6g}" for i in range(3000)]
    rec = write(tmp_path / "sixdigits.csv", t, acc[:3000])
    line = one_error(*run("predict", rec, "--model", bundle, capsys=capsys))
    assert "all 3000 rows share one time stamp" in line and "--rate" in line


def test_a_true_duplicate_is_dropped_and_counted(tmp_path, bundle, acc, capsys):
    rows = [f"{i / 50},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f}" for i, a in enumerate(acc[:1000])]
    rec = tmp_path / "dup.csv"
    rec.write_text("time,x,y,z\n" + "\n".join(rows[:500] + [rows[499]] + rows[500:]) + "\n")
    warned = ok(*run("predict", rec, "--model", bundle, "-o", tmp_path / "out.csv", capsys=capsys))
    assert any("duplicate_rows=1 (repeated time stamps; first row kept)" in w for w in warned), warned
    assert len(pd.read_csv(tmp_path / "out.csv")) == len(deploy.sliding_starts(1000, 128, 64))  # nothing else lost


# --------------------------------------------------------------------------------------------------
# a rate that does not fit the model


def test_khz_stamped_in_ms_without_the_unit_stops(tmp_path, bundle, acc, capsys):
    rec = write(tmp_path / "khz.csv", np.arange(5000), np.resize(acc, (5000, 3)))
    line = one_error(*run("predict", rec, "--model", bundle, capsys=capsys))
    assert "1 Hz, is below the 25 Hz this model needs" in line and "(--time-unit ms), which gives 1000 Hz" in line
    warned = ok(*run("predict", rec, "--model", bundle, "--time-unit", "ms", capsys=capsys))
    assert any("sampled at about 1000 Hz, resampled to the model's 50 Hz" in w for w in warned), warned


def test_a_sample_counter_stops_and_rate_fixes_it(tmp_path, bundle, acc, capsys):
    rec = write(tmp_path / "counter.csv", np.arange(3000), acc[:3000], header="sample,x,y,z")
    line = one_error(*run("predict", rec, "--model", bundle, "--time-col", "sample", capsys=capsys))
    assert "if the column counts samples rather than time, pass the device's rate with --rate" in line
    ok(*run("predict", rec, "--model", bundle, "--time-col", "sample", "--rate", "50", capsys=capsys))


def test_a_rate_below_what_the_model_can_use_stops(tmp_path, bundle, acc, capsys):
    rec = write(tmp_path / "5hz.csv", np.arange(600) / 5, acc[::10][:600])
    line = one_error(*run("predict", rec, "--model", bundle, capsys=capsys))
    assert "5 Hz, is below the 25 Hz this model needs (it was trained at 50 Hz)" in line
    assert "too coarse for this model" in line


def test_a_rate_off_the_models_is_resampled_with_a_warning(tmp_path, bundle, acc, capsys):
    rec = write(tmp_path / "30hz.csv", np.arange(900) / 30, acc[:900])
    warned = ok(*run("predict", rec, "--model", bundle, capsys=capsys))
    assert any("sampled at about 30 Hz, resampled to the model's 50 Hz" in w and "interpolated up" in w
               for w in warned), warned
    same = write(tmp_path / "50hz.csv", np.arange(900) / 50, acc[:900])
    assert not any("resampled to the model's" in w for w in ok(*run("predict", same, "--model", bundle, capsys=capsys)))


# --------------------------------------------------------------------------------------------------
# safety and units


def test_the_output_never_overwrites_an_input(tmp_path, bundle, acc, capsys):
    rec = write(tmp_path / "rec.csv", np.arange(1000) / 50, acc[:1000])
    before, model_before = rec.read_bytes(), bundle.read_bytes()
    for target in (rec, tmp_path / "." / "rec.csv", bundle):
        line = one_error(*run("predict", rec, "--model", bundle, "-o", target, capsys=capsys))
        assert "which it would overwrite; choose another output file (-o)" in line
    assert rec.read_bytes() == before and bundle.read_bytes() == model_before
    with pytest.raises(deploy.DeployError, match="the output is the recording itself"):
        deploy.predict_csv(rec, bundle, rec, progress=False)


def test_a_vigorous_recording_in_g_is_told_to_use_scale_1(tmp_path, bundle, acc, capsys):
    vigorous = acc[:1000] * 2.45  # a wrist while running: median 2.47 g
    rec = write(tmp_path / "wrist.csv", np.arange(1000) / 50, vigorous)
    line = one_error(*run("predict", rec, "--model", bundle, capsys=capsys))
    assert "plausibly in g with much movement" in line and "pass --scale 1" in line
    ok(*run("predict", rec, "--model", bundle, "--scale", "1", capsys=capsys))


def test_an_all_zero_file_is_one_line_without_numpy_warnings(tmp_path, bundle):
    rec = write(tmp_path / "zero.csv", np.arange(500) / 50, np.zeros((500, 3)))
    proc = subprocess.run([sys.executable, "-m", "mglwkd_lite", "predict", str(rec), "--model", str(bundle)],
                          capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "the file holds no signal" in proc.stderr, proc.stderr


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_max_gap_must_be_positive(tmp_path, bundle, acc, capsys, value):
    rec = write(tmp_path / "rec.csv", np.arange(400) / 50, acc[:400])
    line = one_error(*run("predict", rec, "--model", bundle, f"--max-gap={value}", capsys=capsys))
    assert "argument --max-gap: expected a positive float" in line


# --------------------------------------------------------------------------------------------------
# a folder of generated bad inputs: error lines or correct output, never a traceback


def _bad_inputs(folder: Path, acc: np.ndarray) -> dict[str, tuple[Path, list[str]]]:
    """At least 40 files (and options) a user may give ``predict``; name -> (file, extra options)."""
    a = acc[:1500]
    t = np.arange(len(a)) / 50
    rows = [f"{ti},{v[0]:.5f},{v[1]:.5f},{v[2]:.5f}" for ti, v in zip(t, a)]
    cases: dict[str, tuple[Path, list[str]]] = {}

    def text(name: str, content: str | bytes, *extra: str, header: str = "time,x,y,z") -> None:
        path = folder / f"{name}.csv"
        body = content if isinstance(content, bytes) else (header + "\n" + content if header else content)
        path.write_bytes(body) if isinstance(body, bytes) else path.write_text(body)
        cases[name] = (path, list(extra))

    def table(name: str, time, values, *extra: str, **kw) -> None:
        cases[name] = (write(folder / f"{name}.csv", time, values, **kw), list(extra))

    body = "\n".join(rows) + "\n"
    text("empty", "", header="")
    text("header_only", "")
    text("blank_lines_only", "\n\n\n", header="")
    text("random_bytes", np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    text("nul_bytes", b"time,x,y,z\n0,0,0,1\n\x00\x00\x00\x00\n")
    text("utf16_bom", ("time,x,y,z\n" + body).encode("utf-16"))
    text("utf16le_no_bom", ("time,x,y,z\n" + body).encode("utf-16-le"))
    text("utf16be_no_bom", ("time,x,y,z\n" + body).encode("utf-16-be"))
    text("latin1", ("time,x,y,z,étiquette\n" + "\n".join(r + ",assis" for r in rows) + "\n").encode("latin-1"))
    text("semicolons", "\n".join(r.replace(",", ";") for r in rows) + "\n", header="time;x;y;z")
    text("tabs", "\n".join(r.replace(",", "\t") for r in rows) + "\n", header="time\tx\ty\tz")
    text("decimal_commas", "\n".join(r.replace(",", ";").replace(".", ",") for r in rows) + "\n", "--sep", ";",
         header="time;x;y;z")
    text("decimal_commas_and_comma_sep", "\n".join(r.replace(".", ",") for r in rows) + "\n")
    text("no_z", "\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n", header="time,x,y")
    text("misspelt", body, header="time,x,y,zz")
    text("x_twice", "\n".join(r + ",0" for r in rows) + "\n", header="time,x,y,x,z")
    text("extra_field", "\n".join(rows[:700] + [rows[700] + ",9"] + rows[701:]) + "\n")
    text("every_row_an_extra_field", "\n".join(r + ",9" for r in rows) + "\n")
    text("unbalanced_quote", "\n".join(rows[:700] + [rows[700].replace(",", ',"', 1)] + rows[701:]) + "\n")
    text("quote_inside_a_field", "\n".join(rows[:700] + ['0,1"2,0,1'] + rows[701:]) + "\n")
    text("text_value", "\n".join(rows[:700] + [rows[700].rsplit(",", 1)[0] + ",abc"] + rows[701:]) + "\n")
    text("nan_value", "\n".join(rows[:700] + [rows[700].rsplit(",", 1)[0] + ",nan"] + rows[701:]) + "\n")
    text("inf_value", "\n".join(rows[:700] + [rows[700].rsplit(",", 1)[0] + ",inf"] + rows[701:]) + "\n")
    text("empty_cell", "\n".join(rows[:700] + [rows[700].rsplit(",", 1)[0] + ","] + rows[701:]) + "\n")
    text("short_row", "\n".join(rows[:700] + [rows[700].rsplit(",", 1)[0]] + rows[701:]) + "\n")
    text("nan_time", "\n".join(rows[:700] + ["nan" + rows[700][rows[700].index(","):]] + rows[701:]) + "\n")
    text("text_time", "\n".join(rows[:700] + ["soon" + rows[700][rows[700].index(","):]] + rows[701:]) + "\n")
    text("comment_inside_the_data", "\n".join(rows[:700] + ["# pause"] + rows[700:]) + "\n")
    text("crlf", "\r\n".join(rows) + "\r\n", header="time,x,y,z\r")
    table("too_short", t[:50], a[:50])
    table("one_row", t[:1], a[:1])
    table("a_ten_second_gap", np.r_[t[:700], t[700:] + 10], a)
    table("whole_seconds", np.floor(t), a)
    table("tenths", np.round(t, 1), a)
    table("series_from_zero", np.tile(t[:300], 5), a)
    table("six_digit_epochs", [f"{EPOCH + s:.6g}" for s in t], a)
    table("epoch_ms_as_seconds", (EPOCH * 1000 + np.arange(len(a)) * 20), a)
    table("khz_ms_as_seconds", np.arange(len(a)), a)
    table("five_hz", np.arange(len(a)) / 5, a)
    table("m_per_s2", t, a * 9.80665)
    table("milli_g", t, a * 1000)
    table("all_zero", t, np.zeros_like(a))
    table("gravity_removed", t, a - np.median(a, axis=0))
    table("huge_values", t, np.full_like(a, 1e30))
    table("beyond_float32", t, np.where(np.arange(len(a))[:, None] % 7 == 0, 1e200, a), "--scale", "1")
    table("scale_beyond_float32", t, a, "--scale", "1e40")
    table("reversed_rows", t[::-1], a[::-1])
    table("negative_time", t - 100, a)
    table("huge_time", t + 1e300, a)
    table("mixed_iso_offsets", [s.replace("+00:00", "+01:00") if i % 2 else s
                                for i, s in enumerate(_iso(EPOCH + t, "milliseconds"))], a)
    table("iso_and_numbers", [s if i % 2 else str(EPOCH + ti) for i, (s, ti) in
                              enumerate(zip(_iso(EPOCH + t, "milliseconds"), t))], a)
    table("sep_empty", t, a, "--sep", "")
    table("sep_two_letters", t, a, "--sep", "ab")
    table("unknown_encoding", t, a, "--encoding", "klingon")
    table("skip_too_many_rows", t, a, "--skip-rows", "5000")
    table("rate_too_low", np.floor(t), a, "--rate", "5")
    table("rate_off_the_stamps", np.floor(t), a, "--rate", "100")
    table("stamps_in_ns_read_as_ns", t, a, "--time-unit", "ns")
    table("missing_label_column", t, a, "--label-col", "activity")
    table("output_is_input", t, a, "-o", str(folder / "output_is_input.csv"))
    cases["a_folder"] = (folder / "sub", [])
    (folder / "sub").mkdir()
    return cases


def test_a_folder_of_bad_inputs_gives_error_lines_or_labels_never_a_traceback(tmp_path, bundle, acc, capsys):
    cases = _bad_inputs(tmp_path, acc)
    assert len(cases) >= 40
    outcomes = {}
    for name, (path, extra) in cases.items():
        out_args = [] if "-o" in extra else ["-o", str(tmp_path / f"{name}.predictions.out")]
        before = path.read_bytes() if path.is_file() else None
        rc, out, err = run("predict", path, "--model", bundle, *out_args, *extra, capsys=capsys)
        assert "Traceback" not in err, (name, err)
        if rc == 0:
            ok(rc, out, err)
            labelled = pd.read_csv(out_args[1], keep_default_na=False)
            assert len(labelled) >= 1 and set(labelled["activity"]) <= set(D.HAPT_BASIC) | {""}, name
            probs = labelled[[c for c in labelled.columns if c.startswith("p_")]].to_numpy()
            assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4) or not np.isfinite(probs).all(), name
        else:
            one_error(rc, out, err)
            assert not out_args or not Path(out_args[1]).exists(), f"{name}: an output was written"
        if before is not None:
            assert path.read_bytes() == before, f"{name}: the input changed"
        outcomes[name] = rc
    errors = [n for n, rc in outcomes.items() if rc == 2]
    # What must be refused is refused; what a device really writes (with a warning at most) is labelled.
    must_fail = {"empty", "header_only", "random_bytes", "utf16le_no_bom", "extra_field", "unbalanced_quote",
                 "whole_seconds", "tenths", "series_from_zero", "six_digit_epochs", "khz_ms_as_seconds",
                 "five_hz", "m_per_s2", "all_zero", "sep_empty", "output_is_input", "rate_off_the_stamps",
                 "beyond_float32", "scale_beyond_float32"}
    assert must_fail <= set(errors), must_fail - set(errors)
    assert {"crlf", "reversed_rows", "negative_time"} <= set(outcomes) - set(errors)
    assert len(errors) >= 40, f"{len(errors)} of {len(outcomes)} inputs refused"


# --------------------------------------------------------------------------------------------------
# export: a bundle from one documented command, then the README's predict line


def test_export_refuses_to_overwrite_anything_but_a_bundle(tmp_path, capsys):
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    rc, out, err = run("export", "--preset", "quick", "-o", other, capsys=capsys)
    assert "exists and is not a model bundle" in one_error(rc, out, err) and other.read_text() == "mine"
    rc, out, err = run("export", "--preset", "quick", "-o", tmp_path / "nowhere" / "student.pt", capsys=capsys)
    assert "the output folder" in one_error(rc, out, err)
    rc, out, err = run("export", "--method", "magic", capsys=capsys)
    assert "argument --method: invalid choice: 'magic'" in one_error(rc, out, err)
    rc, out, err = run("export", "-o", tmp_path / "student.pt", "--cache-dir", other, capsys=capsys)
    assert "the cache is a file, not a folder" in one_error(rc, out, err) and not (tmp_path / "student.pt").exists()


@pytest.mark.slow
def test_export_then_the_readme_predict_line_labels_a_recording(tmp_path):
    """The README's chain: one export command, then ``predict RECORDING.csv --model student.pt``.

    The quick preset keeps it short (a minute on a CPU when the student is not cached yet); the
    models come from the project's cache, which the notebooks fill too.
    """
    env = {**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"}
    export = subprocess.run([sys.executable, "-m", "mglwkd_lite", "export", "--preset", "quick", "--no-progress",
                             "-o", str(tmp_path / "student.pt")], capture_output=True, text=True, timeout=1800,
                            cwd=REPO_ROOT, env=env)
    assert export.returncode == 0, export.stderr
    assert f"wrote {tmp_path / 'student.pt'}" in export.stdout and "test scores: accuracy" in export.stdout
    assert "expects: x, y, z acceleration including gravity from a smartphone at the waist, in g" in export.stdout
    assert "resampled to 50 Hz; windows of 128 samples (2.56 s) every 64 samples (1.28 s)" in export.stdout
    hapt = D.load_dataset("hapt")
    deploy.recording_to_csv(hapt, 2, tmp_path / "RECORDING.csv")
    predict = subprocess.run([sys.executable, "-m", "mglwkd_lite", "predict", "RECORDING.csv", "--model",
                              "student.pt"], capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert predict.returncode == 0, predict.stderr
    assert "windows labelled -> RECORDING.predictions.csv" in predict.stdout and predict.stderr == ""
    labelled = pd.read_csv(tmp_path / "RECORDING.predictions.csv")
    truth = hapt.recording(2)[1]
    starts = deploy.sliding_starts(len(truth), 128, 64)
    assert len(labelled) == len(starts)
    # A trained student, not a random one: most windows of a held-out person get their own activity.
    names = np.asarray(hapt.classes)[np.maximum(truth[starts + 64], 0)]
    known = truth[starts + 64] >= 0
    assert (labelled["activity"].to_numpy()[known] == names[known]).mean() > 0.6
    bundle = deploy.load_bundle(tmp_path / "student.pt")
    assert bundle.metadata["method"] == "scratch" and bundle.metadata["preset"] == "quick"
    assert 0.6 < bundle.metadata["test"]["accuracy"] <= 1.0
