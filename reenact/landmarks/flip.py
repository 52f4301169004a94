"""Left-right flips of aligned crops' landmarks (the paper's data augmentation; the crop's own
flip is the lab's `reenact_lab.train.augment.flip_image`).

Mirroring an image maps a point at x to `size - x` (pixel centres sit at i + 0.5, as MediaPipe's
x * W), but it also turns the subject's left eye into a right eye: the mesh's point *indices* must
be permuted too. `MIRROR_PERMUTATION[i]` is the point that lands where point i's mirror image is.

Derived by `derive_mirror_permutation` from real frontal neutral faces (labelled neutral stills
and the first frames of frontal clips),
aligned at 256 with z centred: the mean face is mirrored (x -> 256 - x) and each point is matched
to a mirrored point by a minimum-cost assignment (Hungarian, on the symmetric distance matrix),
which gave an involution with 28 midline points fixed and 225 left/right pairs. Checked against
the tracker itself: landmarks tracked on a mirrored still, compared with the flipped landmarks of
the original, differ by 1.4 % of the inter-ocular distance on average (62 % without the
permutation); see tests/unit/test_train_flip.py.
"""

from __future__ import annotations

import numpy as np

NUM_POINTS = 478

# (i, j): point i and point j are each other's mirror images. Points not listed map to themselves.
_MIRROR_PAIRS = (
    (3, 248),
    (7, 249),
    (20, 250),
    (21, 251),
    (22, 252),
    (23, 253),
    (24, 254),
    (25, 255),
    (26, 256),
    (27, 257),
    (28, 258),
    (29, 259),
    (30, 260),
    (31, 261),
    (32, 262),
    (33, 263),
    (34, 264),
    (35, 265),
    (36, 266),
    (37, 267),
    (38, 268),
    (39, 269),
    (40, 270),
    (41, 271),
    (42, 272),
    (43, 273),
    (44, 274),
    (45, 275),
    (46, 276),
    (47, 277),
    (48, 278),
    (49, 279),
    (50, 280),
    (51, 281),
    (52, 282),
    (53, 283),
    (54, 284),
    (55, 285),
    (56, 286),
    (57, 287),
    (58, 288),
    (59, 289),
    (60, 290),
    (61, 291),
    (62, 292),
    (63, 293),
    (64, 294),
    (65, 295),
    (66, 296),
    (67, 297),
    (68, 298),
    (69, 299),
    (70, 300),
    (71, 301),
    (72, 302),
    (73, 303),
    (74, 304),
    (75, 305),
    (76, 306),
    (77, 307),
    (78, 308),
    (79, 309),
    (80, 310),
    (81, 311),
    (82, 312),
    (83, 313),
    (84, 314),
    (85, 315),
    (86, 316),
    (87, 317),
    (88, 318),
    (89, 319),
    (90, 320),
    (91, 321),
    (92, 322),
    (93, 323),
    (95, 324),
    (96, 325),
    (97, 326),
    (98, 327),
    (99, 328),
    (100, 329),
    (101, 330),
    (102, 331),
    (103, 332),
    (104, 333),
    (105, 334),
    (106, 335),
    (107, 336),
    (108, 337),
    (109, 338),
    (110, 339),
    (111, 340),
    (112, 341),
    (113, 342),
    (114, 343),
    (115, 344),
    (116, 345),
    (117, 346),
    (118, 347),
    (119, 348),
    (120, 349),
    (121, 350),
    (122, 351),
    (123, 352),
    (124, 353),
    (125, 354),
    (126, 355),
    (127, 356),
    (128, 357),
    (129, 358),
    (130, 359),
    (131, 360),
    (132, 361),
    (133, 362),
    (134, 363),
    (135, 364),
    (136, 365),
    (137, 366),
    (138, 367),
    (139, 368),
    (140, 369),
    (141, 370),
    (142, 371),
    (143, 372),
    (144, 373),
    (145, 374),
    (146, 375),
    (147, 376),
    (148, 377),
    (149, 378),
    (150, 379),
    (153, 380),
    (154, 381),
    (155, 382),
    (156, 383),
    (157, 384),
    (158, 385),
    (159, 386),
    (160, 387),
    (161, 388),
    (162, 389),
    (163, 390),
    (165, 391),
    (166, 392),
    (167, 393),
    (169, 394),
    (170, 395),
    (171, 396),
    (172, 397),
    (173, 398),
    (174, 399),
    (176, 400),
    (177, 401),
    (178, 402),
    (179, 403),
    (180, 404),
    (181, 405),
    (182, 406),
    (183, 407),
    (184, 408),
    (185, 409),
    (186, 410),
    (187, 411),
    (188, 412),
    (189, 413),
    (190, 414),
    (191, 415),
    (192, 416),
    (193, 417),
    (194, 418),
    (196, 419),
    (198, 420),
    (201, 421),
    (202, 422),
    (203, 423),
    (204, 424),
    (205, 425),
    (206, 426),
    (207, 427),
    (208, 428),
    (209, 429),
    (210, 430),
    (211, 431),
    (212, 432),
    (213, 433),
    (214, 434),
    (215, 435),
    (216, 436),
    (217, 437),
    (218, 438),
    (219, 439),
    (220, 440),
    (221, 441),
    (222, 442),
    (223, 443),
    (224, 444),
    (225, 445),
    (226, 446),
    (227, 447),
    (228, 448),
    (229, 449),
    (230, 450),
    (231, 451),
    (232, 452),
    (233, 453),
    (234, 454),
    (235, 455),
    (236, 456),
    (237, 457),
    (238, 458),
    (239, 459),
    (240, 460),
    (241, 461),
    (242, 462),
    (243, 463),
    (244, 464),
    (245, 465),
    (246, 466),
    (247, 467),
    (468, 473),
    (469, 476),
    (470, 475),
    (471, 474),
    (472, 477),
)
_MIDLINE = (
    0,
    1,
    2,
    4,
    5,
    6,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    94,
    151,
    152,
    164,
    168,
    175,
    195,
    197,
    199,
    200,
)


def _permutation_from_pairs(pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    perm = np.arange(NUM_POINTS, dtype=np.int64)
    for i, j in pairs:
        perm[i], perm[j] = j, i
    return perm


MIRROR_PERMUTATION: np.ndarray = _permutation_from_pairs(_MIRROR_PAIRS)
MIRROR_PERMUTATION.setflags(write=False)


def flip_landmarks(landmarks: np.ndarray, size: int) -> np.ndarray:
    """Landmarks of the left-right mirrored crop.

    landmarks: (..., 478, 2|3) crop pixels of a crop of side `size`. Returns a new float32 array,
    same shape: x -> size - x, y and z unchanged, indices permuted by MIRROR_PERMUTATION.
    """
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape[-2] != NUM_POINTS:
        raise ValueError(f"expected (..., {NUM_POINTS}, 2|3) landmarks, got {lm.shape}")
    out = lm[..., MIRROR_PERMUTATION, :].copy()
    out[..., 0] = size - out[..., 0]
    return out


def derive_mirror_permutation(faces: np.ndarray, size: int) -> np.ndarray:
    """The mirror permutation of the mesh from aligned frontal neutral faces.

    faces: (F, 478, 3) aligned crop pixels (eyes level, symmetric about x = size / 2).
    Returns (478,) int64: the minimum-cost matching of the mean face (z centred) with its mirror
    image. Raises ValueError when the matching is not an involution (faces not frontal enough).
    """
    from scipy.optimize import linear_sum_assignment  # only for re-deriving

    pts = np.asarray(faces, dtype=np.float64).copy()
    pts[..., 2] -= pts[..., 2].mean(axis=-1, keepdims=True)
    mean = pts.mean(axis=0)
    mirrored = mean.copy()
    mirrored[:, 0] = size - mirrored[:, 0]
    cost = np.linalg.norm(mean[:, None, :] - mirrored[None, :, :], axis=2)
    _rows, perm = linear_sum_assignment(cost)
    if not np.array_equal(perm[perm], np.arange(len(perm))):
        raise ValueError("the mirror matching is not an involution; use frontal neutral faces")
    return perm.astype(np.int64)
