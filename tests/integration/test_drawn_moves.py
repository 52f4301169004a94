"""`lab.drawn_moves` on a real portrait and the real face mesh: the moves are the sizes
asked, a renderer that draws nothing reads back nothing, the warp's closing eyes and raised
brows read back as drawn (the tool can tell a drawn move from an undrawn one), and with `--turn`
they are drawn on a turned head and read back with its pose undone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reenact.config import load_config
from reenact_lab.eval.renderers import IdentityRenderer
from reenact.landmarks.tracker import FaceTracker
from reenact.render.eyes import LOWER_LIDS, UPPER_LIDS
from reenact.render.warp import WarpRenderer
from reenact_lab.eval.move_sweep import MOVES, moved, read_moves

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def portrait(portraits_dir):
    from reenact.pipeline.target import prepare_target

    config = load_config(None)
    target = prepare_target(str(portraits_dir / "sadtalker_people_0.png"), config)
    with FaceTracker(config.tracker, static=True) as tracker:
        yield config, target, tracker.track_one


def _by_move(readings) -> dict:
    return {(r.move, r.amount): r for r in readings}


def test_the_moves_are_the_sizes_asked(portrait):
    _, target, _ = portrait
    neutral = target.landmarks_crop
    from reenact.landmarks.expressiveness import relative

    for move, amount in (
        ("eyes", 0.2),
        ("eyes", -0.1),
        ("brows", 0.1),
        ("jaw", 0.2),
        ("smile", 0.2),
        ("smile", -0.1),
    ):
        features = list(MOVES[move][0])
        asked = relative(moved(neutral, move, amount)[None], neutral)[0][features].mean()
        assert asked == pytest.approx(amount, abs=0.04), (move, amount)


def test_the_jaw_opens_a_closed_mouth_by_the_size_asked(portraits_dir):
    """On a portrait whose lips are shut (their inner points coincide), the jaw move drops the
    lower lip by the amount asked: by height alone the lower inner lip lies on the upper one and
    would not move (it asked 0.000-0.057 of 0.1-0.3 here before)."""
    from reenact.landmarks.expressiveness import relative
    from reenact.pipeline.target import prepare_target

    neutral = prepare_target(
        str(portraits_dir / "lp_drv_d30.jpg"), load_config(None)
    ).landmarks_crop
    for amount in (0.1, 0.2, 0.3):
        opened = moved(neutral, "jaw", amount)
        assert relative(opened[None], neutral)[0][0] == pytest.approx(amount, abs=0.01), amount
        assert (opened[[13, 82, 312], 1] == np.asarray(neutral, np.float32)[[13, 82, 312], 1]).all()
    assert relative(moved(neutral, "jaw", -0.1)[None], neutral)[0][0] == pytest.approx(0, abs=0.01)


def test_a_smile_moves_only_the_mouths_width(portrait):
    """The smile pulls the corners apart and nothing else: no opening, no eye or brow change,
    and the lips keep their order across the mouth (no fold)."""
    _, target, _ = portrait
    from reenact.landmarks.expressiveness import relative

    neutral = target.landmarks_crop
    smile = moved(neutral, "smile", 0.2)
    change = relative(smile[None], neutral)[0]
    assert change[1] == pytest.approx(0.2, abs=1e-3)
    assert np.abs(np.delete(change, 1)).max() < 0.01, change
    assert np.array_equal(smile[:, 1:], np.asarray(neutral, np.float32)[:, 1:])
    lips = [61, 40, 37, 0, 267, 270, 291]  # the upper outer lip, corner to corner
    assert (np.diff(smile[lips, 0]) > 0).all()


def test_a_closing_move_never_crosses_the_other_lid_or_lip(portrait):
    _, target, _ = portrait
    shut = moved(target.landmarks_crop, "eyes", -5.0)
    for upper, lower in zip(UPPER_LIDS, LOWER_LIDS):
        assert (shut[list(upper), 1] <= shut[list(lower), 1] + 1e-4).all()
    closed = moved(moved(target.landmarks_crop, "jaw", 0.2), "jaw", -5.0)
    assert closed[14, 1] >= closed[13, 1] - 1e-4


def test_an_unchanged_picture_reads_back_nothing(portrait):
    config, target, reader = portrait
    found = read_moves(
        IdentityRenderer(size=config.renderer.size), reader, target.crop, target.landmarks_crop
    )
    assert len(found) == sum(len(amounts) for _, amounts in MOVES.values())
    assert max(abs(r.read) for r in found) < 0.02
    assert max(abs(r.asked) for r in found) > 0.15


def test_the_warps_closing_eyes_and_raised_brows_read_back(portrait):
    config, target, reader = portrait
    drawings: dict = {}
    found = _by_move(
        read_moves(
            WarpRenderer(size=config.renderer.size),
            reader,
            target.crop,
            target.landmarks_crop,
            drawings=drawings,
        )
    )
    assert found[("eyes", -0.2)].ratio > 0.7
    assert found[("brows", 0.2)].ratio > 0.7
    assert found[("jaw", 0.2)].ratio > 0.7
    # a closed mouth's narrowing reads back as drawn (0.93 when written); its widening is read
    # short (0.88 at +0.2), but read
    assert found[("smile", -0.1)].ratio > 0.7
    assert found[("smile", 0.2)].ratio > 0.5
    assert set(drawings) == set(found)
    assert not np.array_equal(drawings[("eyes", -0.2)], target.crop)


def test_a_missing_portrait_is_a_one_line_error(tmp_path):
    missing = tmp_path / "nobody.png"
    done = subprocess.run(
        [sys.executable, "-m", "lab.drawn_moves", str(missing)],
        capture_output=True,
        cwd=REPO,  # `python -m lab.*` runs from a checkout's root
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "nobody.png" in done.stderr


@pytest.mark.parametrize(
    "flags, named", [(["--renderers", "wrap"], "wrap"), (["--turn", "fifteen"], "fifteen")]
)
def test_a_bad_option_is_a_one_line_error(portraits_dir, flags, named):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab.drawn_moves",
            str(portraits_dir / "lp_s1.jpg"),
            *flags,
        ],
        capture_output=True,
        cwd=REPO,  # `python -m lab.*` runs from a checkout's root
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and named in done.stderr


def test_moves_drawn_on_a_turned_head_are_read_with_its_pose_undone(portrait):
    """--turn: the warp draws the moves on the head turned as the live loop turns it, and they are
    read back with the pose undone, as the eval reads a turned output. Measured when written
    (sadtalker_people_0, yaw 15): jaw +0.2 reads back 1.20 (1.54 since the jaw drops the lower
    inner lip whole, stop 54), eyes -0.2 0.69 (0.92 unturned)."""
    config, target, reader = portrait
    warp = WarpRenderer(size=config.renderer.size)
    moves = {"eyes": ((2, 3), (-0.2,)), "jaw": ((0,), (0.2,))}
    straight, turned = {}, {}
    read_moves(warp, reader, target.crop, target.landmarks_crop, moves=moves, drawings=straight)
    found = _by_move(
        read_moves(
            warp,
            reader,
            target.crop,
            target.landmarks_crop,
            moves=moves,
            drawings=turned,
            turn=(0.0, 15.0),
        )
    )
    # the head is drawn turned: its nose moves sideways by pixels, not by a rounding
    diff = np.abs(turned[("jaw", 0.2)].astype(np.int16) - straight[("jaw", 0.2)]).mean()
    assert diff > 3.0, diff
    assert found[("jaw", 0.2)].ratio > 0.7
    assert found[("eyes", -0.2)].ratio > 0.5


def test_a_grinning_targets_moves_start_from_its_rest(portraits_dir):
    """tpsmm_source grins; the live loop draws it at rest as its estimated neutral (the grin
    taken out: the mouth 1/1.31 as wide), so the eval's sweep (`sweep_moves`) draws its moves
    from there and reads them against it: a smile drawn from the rest reads a mouth about as
    much narrower than the same smile drawn from the picture's grin."""
    from reenact_lab.eval.drive import retrack_output
    from reenact_lab.eval.move_sweep import sweep_moves
    from reenact.landmarks.expressiveness import features, relative
    from reenact.pipeline.target import prepare_target

    config = load_config("eval")
    target = prepare_target(str(portraits_dir / "tpsmm_source.png"), config)
    rest = target.neutral()
    narrower = features(rest)[1] / features(target.landmarks_crop)[1]
    assert narrower < 0.85
    warp = WarpRenderer(size=config.renderer.size)
    with FaceTracker(config.tracker, static=True) as tracker:

        def reader(image):
            return retrack_output(tracker, image, config)

        width = {}
        for start in (rest, None):
            drawings: dict = {}
            read_moves(
                warp,
                reader,
                target.crop,
                target.landmarks_crop,
                drawings=drawings,
                moves={"smile": ((1,), (0.1,))},
                rest=start,
            )
            width[start is None] = features(reader(drawings[("smile", 0.1)]))[1]
        swept = sweep_moves(target, warp, config, tracker)
    assert width[False] / width[True] == pytest.approx(narrower, abs=0.06), (width, narrower)
    smile = next(m for m in swept["moves"] if m["move"] == "smile" and m["amount"] == 0.1)
    assert smile["asked"] == pytest.approx(relative(moved(rest, "smile", 0.1)[None], rest)[0][1])
    assert 0.5 < swept["groups"]["mouth widening"] < 1.3, swept["groups"]


def test_a_jaw_closing_reads_where_the_rest_is_open_and_not_where_it_is_shut(portrait):
    """The sweep's "jaw closing" column: from sadtalker_people_0 drawn with its jaw dropped by
    0.2 of the mouth's width (the rest of a target with parted lips), the warp's raised jaw reads
    back as drawn (1.07-1.17 when written) and a renderer that draws nothing reads nothing; from
    its own shut mouth there is nothing to close, and the column is n/a, not 0."""
    from reenact_lab.eval.move_sweep import group_ratios

    config, target, reader = portrait
    moves = {"jaw": ((0,), (-0.1, -0.05))}
    opened = moved(target.landmarks_crop, "jaw", 0.2)
    closing = {}
    for name, renderer in (
        ("warp", WarpRenderer(size=config.renderer.size)),
        ("identity", IdentityRenderer(size=config.renderer.size)),
    ):
        closing[name] = group_ratios(
            read_moves(
                renderer, reader, target.crop, target.landmarks_crop, moves=moves, rest=opened
            )
        )["jaw closing"]
    assert closing["warp"] > 0.7, closing
    assert abs(closing["identity"]) < 0.2, closing
    shut = group_ratios(
        read_moves(
            WarpRenderer(size=config.renderer.size),
            reader,
            target.crop,
            target.landmarks_crop,
            moves=moves,
        )
    )
    assert np.isnan(shut["jaw closing"]) and np.isnan(shut["mouth widening"]), shut


def test_the_tool_reads_what_the_eval_reads_from_the_rest(portraits_dir, capsys):
    """lp_drv_d19 yawns; the live loop draws it at rest with the yawn closed, and `reenact
    eval`'s table (`sweep_moves`) draws its moves from there. The tool does the same by default,
    so its figures are the table's; `--from picture` starts from the yawn. Measured when written
    (warp): brows lowered by 0.1 read 0.33 of what was asked from the rest, 0.68 from the
    picture (until stop 82 the tool started from the picture, and read 0.68 where the eval read
    0.33)."""
    from reenact_lab.eval.move_sweep import sweep_moves
    from reenact.pipeline.target import prepare_target
    from lab.drawn_moves import main

    path = str(portraits_dir / "lp_drv_d19.jpg")
    config = load_config(None)
    target = prepare_target(path, config)
    with FaceTracker(config.tracker, static=True) as tracker:
        swept = sweep_moves(target, WarpRenderer(size=config.renderer.size), config, tracker)
    table = {(m["move"], round(m["amount"], 2)): m["read"] for m in swept["moves"]}

    def printed(*flags) -> dict:
        capsys.readouterr()
        assert main([path, "--renderers", "warp", *flags]) == 0
        rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
        # portrait renderer pitch, yaw move amount asked read ratio
        return {(row[-5], round(float(row[-4]), 2)): float(row[-2]) for row in rows}

    from_rest, from_picture = printed(), printed("--from", "picture")
    assert from_rest.keys() == table.keys()
    for key, read in table.items():
        assert from_rest[key] == pytest.approx(read, abs=1.5e-3), key
    # from the yawn the tracker reads the same moves otherwise: the two starts differ
    assert max(abs(from_picture[k] - table[k]) for k in table) > 0.02
