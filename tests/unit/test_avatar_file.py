"""The `.avatar` file (read by reenact.avatar, written by reenact_lab.avatar_file): it
round-trips, and a damaged, truncated, oversized, pickled, foreign, path-escaping or wrongly
shaped one is refused with one line naming the file, before anything in it is unpickled or
inflated; through the CLI too, with a non-zero exit."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from reenact.avatar import (
    AVATAR_SUFFIX,
    BANK,
    BANK_LANDMARKS,
    INT8,
    MAX_FILE_BYTES,
    NEUTRAL,
    ONNX,
    WEIGHTS,
    is_avatar_path,
    read_avatar,
    score_line,
)
from reenact.errors import InputError
from reenact_lab.avatar_file import write_avatar
from tests.avatar_files import (
    SHIFTED,
    SHIPPED_INT8,
    SHIPPED_WEIGHTS,
    VALIDATION,
    make_avatar,
    shifted_generator,
)


@pytest.fixture(scope="module")
def picture(media_dir) -> np.ndarray:
    from reenact.imageio import load_image

    return load_image(media_dir / "portraits" / "lp_s0.jpg")


@pytest.fixture(scope="module")
def neutral() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((478, 3)) * 200 + 20).astype(np.float32)


@pytest.fixture(scope="module")
def good(tmp_path_factory, picture, neutral) -> Path:
    path = tmp_path_factory.mktemp("avatar") / "anna.avatar"
    return make_avatar(path, picture, shift=0.25, neutral=neutral, manifest={"name": "Anna"})


def rezip(src: Path, dst: Path, *, replace=None, add=None, drop=()) -> Path:
    """`src`'s members into a new zip at `dst`, with some replaced, added or dropped (stored:
    quick; a member over 32 MiB deflated, as a zip bomb's is)."""
    replace, add = replace or {}, add or {}

    def put(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
        method = zipfile.ZIP_DEFLATED if len(data) > 32 << 20 else zipfile.ZIP_STORED
        archive.writestr(name, data, compress_type=method, compresslevel=1)

    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            if info.filename not in drop:
                put(new, info.filename, replace.get(info.filename, old.read(info)))
        for name, data in add.items():
            put(new, name, data)
    return dst


def refused(path: Path, *words: str) -> str:
    with pytest.raises(InputError) as caught:
        read_avatar(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message, message
    for word in words:
        assert word in message, message
    return message


# -- round trip ---------------------------------------------------------------------------------


def test_an_avatar_round_trips(good, picture, neutral):
    avatar = read_avatar(good)
    assert avatar.path == good and avatar.name == "anna.avatar"
    assert np.array_equal(avatar.picture, picture)
    assert avatar.neutral.dtype == np.float32 and np.array_equal(avatar.neutral, neutral)
    weights, onnx = shifted_generator(0.25)
    assert avatar.generator_onnx == onnx
    assert avatar.generator_weights.keys() == weights.keys()
    for key, value in weights.items():
        got = avatar.generator_weights[key]
        assert got.dtype == value.dtype and got.shape == value.shape
        assert np.array_equal(got, value), key
    assert not np.array_equal(avatar.generator_weights[SHIFTED], shifted_generator(0)[0][SHIFTED])
    from reenact.engine.arrays import read_meta

    assert avatar.generator_meta == read_meta(SHIPPED_WEIGHTS)
    m = avatar.manifest
    assert m["format"] == "reenact-avatar" and m["version"] == 1 and m["crop_size"] == 256
    assert m["name"] == "Anna" and m["validation"] == VALIDATION  # the writer's keys kept
    assert m["reenact_version"] and m["created"].startswith("20")
    assert avatar.key == read_avatar(good).key  # the same network, the same key


def test_an_avatar_without_a_neutral_has_no_neutral_member(tmp_path, picture):
    path = make_avatar(tmp_path / "plain.avatar", picture)
    with zipfile.ZipFile(path) as archive:
        assert NEUTRAL not in archive.namelist()
    assert read_avatar(path).neutral is None


def test_writing_is_atomic_and_leaves_nothing_it_would_refuse(tmp_path, picture):
    from reenact.engine.arrays import read_meta

    weights, onnx = shifted_generator(0)
    bad = {**weights, SHIFTED: np.zeros(3, np.float16)}
    path = tmp_path / "bad.avatar"
    with pytest.raises(InputError, match="does not fit the shipped architecture"):
        write_avatar(
            path,
            picture=picture,
            neutral=None,
            generator_onnx=onnx,
            generator_weights=bad,
            generator_meta=read_meta(SHIPPED_WEIGHTS),
            manifest={},
        )
    assert list(tmp_path.iterdir()) == []  # no avatar, no partial file


def test_the_suffix_and_the_score_line():
    assert is_avatar_path("x/Anna.AVATAR") and not is_avatar_path("anna.png")
    assert not is_avatar_path("") and AVATAR_SUFFIX == ".avatar"
    assert score_line({"validation": VALIDATION}) == "avatar, SSIM 0.781 vs warp 0.715"
    assert score_line({}) == "avatar"


# -- refusals -----------------------------------------------------------------------------------


def test_a_damaged_avatar_is_refused(good, tmp_path):
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo(ONNX)
    middle = info.header_offset + 100 + info.compress_size // 2  # inside the deflated ONNX
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    damaged = tmp_path / "damaged.avatar"
    damaged.write_bytes(bytes(data))
    refused(damaged)


def test_a_truncated_avatar_is_refused(good, tmp_path):
    cut = tmp_path / "cut.avatar"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    refused(cut, "truncated")


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.avatar"
    with open(big, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: large on paper, nothing written
    refused(big, "too large", "64 MiB")


def test_a_zip_bomb_is_refused_from_its_directory(good, tmp_path):
    bomb = rezip(good, tmp_path / "bomb.avatar", replace={ONNX: bytes(100 << 20)})
    assert bomb.stat().st_size < 20 << 20
    refused(bomb, "generator.onnx", "inflates to 100.0 MiB")


def test_a_zip_holding_a_pickle_is_refused(good, tmp_path):
    payload = pickle.dumps({"weights": [1, 2, 3]})
    for name in ("archive/data.pkl", "generator.pt"):
        path = rezip(good, tmp_path / "pickled.avatar", add={name: payload})
        refused(path, name, "pickle")


def test_a_pickled_neutral_is_never_unpickled(good, tmp_path):
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()] * 3, dtype=object), allow_pickle=True)
    path = rezip(good, tmp_path / "neutral.avatar", replace={NEUTRAL: buffer.getvalue()})
    refused(path, NEUTRAL)


def test_a_torch_checkpoint_renamed_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "checkpoint.avatar"
    torch.save({"w": torch.zeros(3)}, path)
    refused(path, "pickle")


def test_a_foreign_zip_is_refused(good, tmp_path):
    foreign = tmp_path / "foreign.avatar"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("README.txt", "hello")
    refused(foreign, "not a reenact avatar")
    other = {"format": "something-else", "version": 1, "crop_size": 256}
    path = rezip(good, tmp_path / "other.avatar", replace={"manifest.json": json.dumps(other)})
    refused(path, "not a reenact avatar")
    newer = json.loads(zipfile.ZipFile(good).read("manifest.json"))
    newer["version"] = 99
    path = rezip(good, tmp_path / "newer.avatar", replace={"manifest.json": json.dumps(newer)})
    refused(path, "version 99", "upgrade")
    text = tmp_path / "text.avatar"
    text.write_text("not an avatar at all")
    refused(text, "not a zip")


def test_a_member_escaping_the_archive_is_refused(good, tmp_path):
    for name in ("../evil.png", "/etc/evil", "sub\\..\\evil"):
        path = rezip(good, tmp_path / "escape.avatar", add={name: b"x"})
        refused(path, "outside the archive")


def test_missing_or_extra_members_are_refused(good, tmp_path):
    refused(rezip(good, tmp_path / "missing.avatar", drop=(WEIGHTS,)), "missing", WEIGHTS)
    refused(rezip(good, tmp_path / "extra.avatar", add={"notes.txt": b"hi"}), "notes.txt")


def test_an_avatars_int8_model_round_trips_and_a_bad_one_is_refused(tmp_path, picture, good):
    assert read_avatar(good).generator_int8 is None  # optional
    int8 = SHIPPED_INT8.read_bytes()
    avatar = read_avatar(make_avatar(tmp_path / "int8.avatar", picture, int8=int8))
    assert avatar.generator_int8 == int8
    refused(rezip(good, tmp_path / "bad.avatar", add={INT8: b"not a model"}), INT8, "not an ONNX")


def npy(array: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def test_a_face_bank_round_trips_and_a_bad_one_is_refused(tmp_path, picture, neutral, good):
    assert read_avatar(good).face_bank is None  # optional
    rng = np.random.default_rng(1)
    crops = rng.integers(0, 256, (3, 256, 256, 3), dtype=np.uint8)
    points = np.stack([neutral + i for i in range(3)]).astype(np.float32)
    banked = make_avatar(tmp_path / "bank.avatar", picture, face_bank=(crops, points))
    got = read_avatar(banked).face_bank
    assert got is not None and np.array_equal(got[0], crops) and np.array_equal(got[1], points)

    def bad(name: str, **members: bytes) -> Path:
        return rezip(good, tmp_path / f"{name}.avatar", add=members)

    refused(bad("alone", **{BANK: npy(crops)}), BANK, "pair")
    both = {BANK_LANDMARKS: npy(points)}
    refused(bad("small", **{BANK: npy(crops[:, :128, :128]), **both}), BANK, "256 x 256")
    refused(bad("floats", **{BANK: npy(crops.astype(np.float32)), **both}), BANK, "uint8")
    refused(bad("count", **{BANK: npy(crops[:2]), **both}), BANK_LANDMARKS, "(2, 478, 3)")
    nan = points.copy()
    nan[0, 0, 0] = np.nan
    refused(bad("nan", **{BANK: npy(crops), BANK_LANDMARKS: npy(nan)}), "NaN")
    pickled = npy(np.array([object()] * 3, dtype=object), allow_pickle=True)
    refused(bad("pickled", **{BANK: pickled, **both}), BANK, "refused")


def test_a_picture_that_does_not_decode_is_refused(good, tmp_path):
    broken = b"\x89PNG\r\n\x1a\n" + bytes(200)
    refused(rezip(good, tmp_path / "pic.avatar", replace={"picture.png": broken}), "picture.png")


def test_wrongly_shaped_weights_are_refused(good, tmp_path):
    import safetensors.numpy

    from reenact.engine.arrays import read_meta

    weights, _ = shifted_generator(0)
    meta = read_meta(SHIPPED_WEIGHTS)
    bad = safetensors.numpy.save({**weights, SHIFTED: np.zeros(7, np.float16)}, metadata=meta)
    refused(rezip(good, tmp_path / "shape.avatar", replace={WEIGHTS: bad}), SHIFTED, "(7,)")
    wide = safetensors.numpy.save(weights, metadata={**meta, "ngf": "64"})
    refused(rezip(good, tmp_path / "wide.avatar", replace={WEIGHTS: wide}), "ngf=64")
    refused(rezip(good, tmp_path / "junk.avatar", replace={WEIGHTS: b"\x80\x04junk"}), WEIGHTS)


def test_the_cli_refuses_a_bad_avatar_in_one_line(good, tmp_path, clips_dir, capsys):
    from reenact.cli.main import main

    cut = tmp_path / "cut.avatar"
    cut.write_bytes(good.read_bytes()[:5000])
    clip = clips_dir / "dpe_d.mp4"
    code = main(["run", "--source", f"video:{clip}", "--target", str(cut), "--sink", "null"])
    err = capsys.readouterr().err
    assert code != 0
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1 and str(cut) in lines[0], err
    assert "Traceback" not in err


def test_run_help_names_avatars(capsys):
    from reenact.cli.main import main

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert ".avatar" in capsys.readouterr().out
