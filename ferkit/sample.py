"""Synthetic facial-expression faces: the offline sample dataset of the course.

The course runs without any photograph, so every lesson and every test can use a
small *generated* dataset instead of FER2013. This module draws it. Lesson
02_fer2013 introduces it next to the real FER2013; ``ferkit.data.load_sample``
wraps :func:`generate_faces` with fixed seeds and FER2013's split names.

**These are synthetic cartoon faces, not photographs.** A model trained on them
learns to read drawn eyebrows and mouths; any accuracy you measure on them is a
*sample result*, never a FER2013 result, and it must not be compared with the
numbers the papers report.

How one face is made
--------------------
Every face is a few dozen shapes drawn with Pillow on a canvas four times the
output size, then shrunk with a box filter, which anti-aliases the edges.

1. **Identity** - who the person is: face width and height, chin shape, skin
   tone, eye spacing and size, hair style and colour, background. In RGB the
   colours come from plausible palettes; in grayscale only their brightness is
   kept, as in FER2013.
2. **Expression** - built like the Facial Action Coding System (FACS): each
   emotion is a prototype that moves a handful of facial "actions" (brow raise,
   inner-brow raise or lowering, brows pulled together, eye opening, lower-lid
   tightening, lip-corner pull up or down, jaw drop, lip stretch, lip press,
   upper-lip raise, nose wrinkle, cheek raise, chin raise). Each face gets a
   random intensity, so some expressions are strong and some barely visible,
   and every person has a slightly different resting face:

   ========  ==============================================================
   angry     brows lowered and pulled together, narrowed eyes, pressed lips
   disgust   nose wrinkle, raised upper lip, lowered brows, slight frown
   fear      brows raised *and* pulled together, wide eyes, mouth stretched
   happy     smile, raised cheeks, slightly narrowed eyes, often teeth
   sad       inner brow corners raised (oblique brows), lip corners down
   surprise  brows raised high, eyes wide, jaw dropped into a round mouth
   neutral   everything relaxed
   ========  ==============================================================

   Fear and surprise share raised brows, wide eyes and an open mouth; a weak
   sad face looks almost neutral; angry and disgust share lowered brows. As in
   FER2013, these pairs are the hard ones, and some faces blend two emotions.
3. **Nuisance** - what a camera adds: shift, scale, in-plane rotation, a slight
   head turn, a lighting gradient, contrast and brightness changes, blur,
   sensor noise, and occasional occluders (glasses, sunglasses, a hand).
   Finally a ``label_noise`` fraction of the labels is replaced by a random
   other class, as FER2013's crowd-sourced labels are sometimes wrong.

Labels are integer ids 0-6 in the FER2013 order (angry, disgust, fear, happy,
sad, surprise, neutral), the order of ``ferkit.data.EMOTIONS``. This module does
not import ``ferkit.data`` (which imports this one). Classes are drawn with
:data:`SAMPLE_CLASS_FREQUENCIES`, FER2013's training-set proportions, so
disgust is rare here too.

Everything comes from one ``numpy.random.default_rng(seed)``, so the same
arguments always give bit-identical arrays.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

# FER2013 training-set counts per class, in the FER2013 label order
# (angry, disgust, fear, happy, sad, surprise, neutral).
_FER2013_TRAIN_COUNTS = (3995, 436, 4097, 7215, 4830, 3171, 4965)

SAMPLE_CLASS_FREQUENCIES: tuple[float, ...] = tuple(
    count / sum(_FER2013_TRAIN_COUNTS) for count in _FER2013_TRAIN_COUNTS
)
"""Probability of each class (ids 0-6, FER2013 order) in the generated sample:
FER2013's training counts divided by their total, so disgust (436 of 28,709)
is rare and happy (7,215) is the majority class. Lesson 02_fer2013."""

_NUM_CLASSES = 7
_ANGRY, _DISGUST, _FEAR, _HAPPY, _SAD, _SURPRISE, _NEUTRAL = range(_NUM_CLASSES)

_SUPERSAMPLE = 4  # drawing canvas is this many times the output size
_CHUNK = 256  # faces drawn and post-processed together

# --------------------------------------------------------------------------
# Expression prototypes (FACS-style). Units: the image spans [-1, 1], so 0.04
# is one pixel of a 48x48 image. eye_open is a relative change of the eye
# opening; lid_tighten, lip_press, upper_lip_raise, nose_wrinkle, cheek_raise
# and chin_raise are 0 (relaxed) to 1 (strong).
# --------------------------------------------------------------------------
_ACTIONS = (
    "brow_raise",       # AU1+2: whole brow up (+) or down (-)
    "brow_inner",       # AU1 (+) / AU4 (-): inner brow corner up or down
    "brow_pull",        # AU4: inner corners pulled toward the midline
    "eye_open",         # AU5 (+) / AU7, AU43 (-): upper lid up or down
    "lid_tighten",      # AU6/AU7: lower lid pushed up
    "smile",            # AU12 (+) / AU15 (-): lip corners up or down
    "mouth_open",       # AU25/26/27: lips part, jaw drops
    "mouth_stretch",    # AU20 (+) wide / AU18 (-) rounded, narrow
    "lip_press",        # AU23/24: lips tightened, thin
    "upper_lip_raise",  # AU10: upper lip lifted
    "nose_wrinkle",     # AU9: wrinkles across the nose, nostrils up
    "cheek_raise",      # AU6: cheeks up, deep smile folds
    "chin_raise",       # AU17: chin pushed up, lower lip pouts
)

_PROTOTYPES = {
    _ANGRY: dict(brow_raise=-0.06, brow_inner=-0.10, brow_pull=0.06, eye_open=-0.35,
                 lid_tighten=0.5, smile=-0.025, mouth_stretch=-0.10, lip_press=1.0,
                 nose_wrinkle=0.25, chin_raise=0.4),
    _DISGUST: dict(brow_raise=-0.035, brow_inner=-0.05, brow_pull=0.03, eye_open=-0.35,
                   lid_tighten=0.6, smile=-0.05, mouth_open=0.02, upper_lip_raise=1.0,
                   nose_wrinkle=1.0, cheek_raise=0.35, chin_raise=0.3),
    _FEAR: dict(brow_raise=0.08, brow_inner=0.05, brow_pull=0.035, eye_open=0.8,
                smile=-0.04, mouth_open=0.09, mouth_stretch=0.30),
    _HAPPY: dict(eye_open=-0.25, lid_tighten=0.6, smile=0.14, mouth_stretch=0.25,
                 cheek_raise=1.0),
    _SAD: dict(brow_inner=0.08, brow_pull=0.02, eye_open=-0.25, smile=-0.06,
               mouth_stretch=-0.05, lip_press=0.3, chin_raise=0.8),
    _SURPRISE: dict(brow_raise=0.11, brow_inner=0.01, eye_open=0.8, mouth_open=0.20,
                    mouth_stretch=-0.20),
    _NEUTRAL: dict(),
}
_PROTOTYPE_MATRIX = np.array(
    [[_PROTOTYPES[c].get(name, 0.0) for name in _ACTIONS] for c in range(_NUM_CLASSES)]
)

# Range of the per-face expression intensity, per class.
_INTENSITY_RANGE = np.array(
    [(0.35, 1.0), (0.4, 1.0), (0.4, 1.0), (0.3, 1.0), (0.2, 0.9), (0.4, 1.0), (0.0, 0.0)]
)

# Spread of each person's resting face around neutral, per action.
_RESTING_SPREAD = dict(brow_raise=0.02, brow_inner=0.02, brow_pull=0.01, eye_open=0.10,
                       lid_tighten=0.10, smile=0.02, mouth_open=0.0, mouth_stretch=0.06,
                       lip_press=0.15, upper_lip_raise=0.05, nose_wrinkle=0.05,
                       cheek_raise=0.08, chin_raise=0.10)
_RESTING_VECTOR = np.array([_RESTING_SPREAD[name] for name in _ACTIONS])

# Mixed expressions: with probability _BLEND_PROBABILITY a face also carries a
# weaker second emotion, chosen with these weights (rows: the face's class).
_BLEND_PROBABILITY = 0.3
_BLEND_PARTNERS = np.array([
    # an   di   fe   ha   sa   su   ne
    [0.0, 0.4, 0.1, 0.0, 0.3, 0.0, 0.2],  # angry
    [0.6, 0.0, 0.1, 0.0, 0.2, 0.0, 0.1],  # disgust
    [0.1, 0.0, 0.0, 0.0, 0.3, 0.6, 0.0],  # fear
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.6, 0.4],  # happy
    [0.2, 0.0, 0.4, 0.0, 0.0, 0.0, 0.4],  # sad
    [0.0, 0.0, 0.6, 0.3, 0.0, 0.0, 0.1],  # surprise
    [0.2, 0.0, 0.0, 0.2, 0.6, 0.0, 0.0],  # neutral
])

# Palettes (RGB). Grayscale images keep only the luminance of these colours.
_SKIN_TONES = np.array([(250, 220, 195), (235, 190, 160), (215, 165, 130), (190, 140, 100),
                        (160, 110, 80), (120, 80, 55), (90, 60, 45)], dtype=float)
_HAIR_COLOURS = np.array([(20, 15, 12), (45, 30, 20), (85, 55, 35), (130, 90, 55),
                          (200, 165, 105), (150, 70, 35), (150, 150, 150),
                          (225, 215, 200)], dtype=float)
_HAIR_WEIGHTS = np.array([0.30, 0.22, 0.15, 0.1, 0.09, 0.05, 0.06, 0.03])
_IRIS_COLOURS = np.array([(55, 35, 20), (95, 65, 35), (70, 110, 150), (80, 105, 70)],
                         dtype=float)
_LUMA = np.array([0.299, 0.587, 0.114])

_ANGLES = {n: np.linspace(0.0, 2.0 * np.pi, n, endpoint=False) for n in (12, 20, 32, 48)}


def _points(x, y, count):
    """Stack x and y (broadcast to (count, n)) into points of shape (count, n, 2)."""
    x, y = np.broadcast_arrays(x, y)
    points = np.stack([x, y], axis=-1)
    return np.broadcast_to(points, (count,) + points.shape[-2:])


def _ellipse(count, cx, cy, rx, ry, n=20):
    """Closed polygons (count, n, 2) on ellipses; arguments are scalars or (count, 1)."""
    angles = _ANGLES[n]
    return _points(cx + rx * np.cos(angles), cy + ry * np.sin(angles), count)


def _curve(count, x0, x1, y_of_u, n=9):
    """Polylines (count, n, 2) of y = y_of_u(u) for x running from x0 to x1, u in [-1, 1]."""
    u = np.linspace(-1.0, 1.0, n)
    return _points(x0 + (u + 1.0) * 0.5 * (x1 - x0), y_of_u(u), count)


def _choose(rng, probability_rows):
    """One category per row of a (count, k) probability table, vectorised."""
    cumulative = np.cumsum(probability_rows, axis=1)
    draws = rng.uniform(size=(len(probability_rows), 1)) * cumulative[:, -1:]
    return np.minimum((draws >= cumulative).sum(axis=1), probability_rows.shape[1] - 1)


def _sample_parameters(count, rng, label_noise):
    """Draw every random choice of a batch at once.

    Returns ``(parameters, true_labels, annotated_labels)``; parameters maps a
    name to an array of shape (count, ...) with one entry per face.
    """
    labels = _choose(rng, np.tile(SAMPLE_CLASS_FREQUENCIES, (count, 1)))
    uniform = rng.uniform

    # ---- expression -------------------------------------------------------
    intensity = uniform(_INTENSITY_RANGE[labels, 0], _INTENSITY_RANGE[labels, 1])
    actions = intensity[:, None] * _PROTOTYPE_MATRIX[labels]
    actions += rng.normal(size=(count, len(_ACTIONS))) * _RESTING_VECTOR
    partner = _choose(rng, _BLEND_PARTNERS[labels])
    blend_weight = np.where(uniform(size=count) < _BLEND_PROBABILITY,
                            uniform(0.1, 0.4, count), 0.0)
    actions += blend_weight[:, None] * _PROTOTYPE_MATRIX[partner]
    p = {name: actions[:, i] for i, name in enumerate(_ACTIONS)}
    for name in ("lid_tighten", "lip_press", "upper_lip_raise", "nose_wrinkle",
                 "cheek_raise", "chin_raise"):
        p[name] = np.clip(p[name], 0.0, 1.0)
    p["eye_open"] = np.clip(p["eye_open"], -0.6, 1.2)
    p["mouth_stretch"] = np.clip(p["mouth_stretch"], -0.35, 0.5)

    # Per-class options: open smiles, shouting, closed-mouth surprise, parted lips.
    mouth_open = p["mouth_open"]
    happy_open = (labels == _HAPPY) & (uniform(size=count) < 0.55)
    mouth_open = mouth_open + happy_open * uniform(0.04, 0.13, count)
    shouting = (labels == _ANGRY) & (uniform(size=count) < 0.3)
    mouth_open = mouth_open + shouting * uniform(0.06, 0.14, count)
    p["lip_press"] = np.where(shouting, 0.0, p["lip_press"])
    closed_surprise = (labels == _SURPRISE) & (uniform(size=count) < 0.12)
    mouth_open = np.where(closed_surprise, 0.15 * mouth_open, mouth_open)
    mouth_open = mouth_open + (uniform(size=count) < 0.12) * uniform(0.01, 0.03, count)
    p["mouth_open"] = np.clip(mouth_open, 0.0, 0.3)
    teeth_chance = np.select(
        [labels == _HAPPY, labels == _ANGRY, labels == _FEAR, labels == _DISGUST],
        [0.9, 0.8, 0.3, 0.6], 0.1)
    p["teeth"] = uniform(size=count) < teeth_chance

    # ---- identity ---------------------------------------------------------
    p["face_w"] = uniform(0.58, 0.70, count)
    p["face_h"] = uniform(0.80, 0.90, count)
    p["face_cy"] = uniform(0.06, 0.14, count)
    p["chin_taper"] = uniform(0.05, 0.30, count)
    p["eye_level"] = uniform(-0.28, -0.20, count)
    p["eye_dx"] = uniform(0.25, 0.31, count)
    p["eye_w"] = uniform(0.11, 0.14, count)
    p["eye_h"] = uniform(0.38, 0.50, count)
    p["brow_gap"] = uniform(0.12, 0.16, count)
    p["brow_thick"] = uniform(0.04, 0.065, count)
    p["brow_arch"] = uniform(0.0, 0.04, count)
    p["nose_level"] = uniform(0.12, 0.19, count)
    p["nose_w"] = uniform(0.06, 0.09, count)
    p["mouth_level"] = uniform(0.42, 0.50, count)
    p["mouth_w"] = uniform(0.17, 0.23, count)
    p["lip_thick"] = uniform(0.03, 0.05, count)
    p["fold_depth"] = uniform(0.0, 0.25, count)
    p["hair_style"] = rng.choice(4, size=count, p=[0.45, 0.3, 0.15, 0.1])
    p["hairline"] = uniform(0.55, 0.72, count)
    p["hair_volume"] = uniform(0.03, 0.12, count)

    position = uniform(0, len(_SKIN_TONES) - 1, count)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(_SKIN_TONES) - 1)
    fraction = (position - low)[:, None]
    skin = _SKIN_TONES[low] * (1 - fraction) + _SKIN_TONES[high] * fraction
    skin *= uniform(0.9, 1.08, (count, 1)) * uniform(0.96, 1.04, (count, 3))
    p["skin"] = np.clip(skin, 0, 255)
    hair = _HAIR_COLOURS[_choose(rng, np.tile(_HAIR_WEIGHTS, (count, 1)))]
    p["hair"] = np.clip(hair * uniform(0.8, 1.2, (count, 1)), 0, 255)
    p["iris"] = _IRIS_COLOURS[rng.integers(0, len(_IRIS_COLOURS), count)]
    p["lip"] = p["skin"] * np.array([0.85, 0.62, 0.62]) * uniform(0.75, 0.95, (count, 1))
    grey = uniform(10, 245, (count, 1))
    tint = uniform(0.0, 0.5, (count, 1))  # how far the colour strays from grey
    p["background"] = np.clip(grey + tint * (uniform(0, 255, (count, 3)) - grey), 0, 255)
    p["clothes"] = uniform(0, 255, (count, 3))

    # ---- nuisance ---------------------------------------------------------
    p["scale"] = uniform(0.98, 1.14, count)
    p["angle"] = rng.normal(0.0, np.deg2rad(5.0), count).clip(-0.25, 0.25)
    p["shift_x"] = uniform(-0.07, 0.07, count)
    p["shift_y"] = uniform(-0.07, 0.05, count)
    p["yaw"] = uniform(-0.6, 0.6, count)
    occluder = rng.choice(4, size=count, p=[0.80, 0.09, 0.04, 0.07])
    p["glasses"], p["sunglasses"], p["hand"] = occluder == 1, occluder == 2, occluder == 3
    p["hand_x"] = uniform(-0.5, 0.5, count)
    p["hand_y"] = uniform(0.2, 0.85, count)
    p["hand_angle"] = uniform(-1.2, 1.2, count)

    # ---- labels as annotated ----------------------------------------------
    noisy = uniform(size=count) < label_noise
    other = (labels + rng.integers(1, _NUM_CLASSES, count)) % _NUM_CLASSES
    annotated = np.where(noisy, other, labels).astype(np.int64)
    return p, labels, annotated


def _face_shapes(p, count):
    """The drawing list of a batch of faces, in face coordinates.

    Face coordinates span the image from -1 to 1, y pointing down. Returns a
    list of ``(kind, points, colour, width, mask, warp)``: kind is "polygon",
    "line" or "ring" (polygon outline); points (count, n, 2); colour (count, 3)
    RGB; width (count, 1) in face units or None; mask (count,) bool or None
    (draw only where True); warp says whether the head turn moves the shape.
    Shapes are drawn in list order, so later ones cover earlier ones.
    """
    q = {name: (v[:, None] if v.ndim == 1 else v) for name, v in p.items()}
    shapes = []

    def add(kind, points, colour, width=None, mask=None, warp=True):
        if mask is not None:
            mask = np.asarray(mask).reshape(count)
            if not mask.any():
                return
        colour = np.broadcast_to(colour, (count, 3))
        if width is not None:
            width = np.broadcast_to(width, (count, 1))
        shapes.append((kind, points, colour, width, mask, warp))

    skin, hair = q["skin"], q["hair"]
    face_w, face_h, cy = q["face_w"], q["face_h"], q["face_cy"]
    style = q["hair_style"]  # 0 short, 1 long, 2 fringe, 3 shaved
    cheek = q["cheek_raise"]
    wrinkle = q["nose_wrinkle"]
    zero = np.zeros((count, 1))

    # ---- hair behind the head, neck and clothes --------------------------
    top_angles = np.linspace(np.pi, 2 * np.pi, 13)
    back = _points(np.concatenate([(face_w + 0.14) * np.cos(top_angles),
                                   face_w + 0.24, -face_w - 0.24], 1),
                   np.concatenate([cy - 0.1 + (face_h + 0.06) * np.sin(top_angles),
                                   zero + 1.4, zero + 1.4], 1), count)
    add("polygon", back, hair * 0.85, mask=style == 1, warp=False)
    neck = _points(face_w * np.array([-0.55, 0.55, 0.65, -0.65]),
                   cy + np.array([0.3, 0.3, 1.4, 1.4]), count)
    add("polygon", neck, skin * 0.78, warp=False)
    clothes = _points(np.array([-1.6, -0.5, 0.5, 1.6, 1.6, -1.6]) + zero,
                      cy + np.array([1.02, 0.94, 0.94, 1.02, 1.8, 1.8]), count)
    add("polygon", clothes, q["clothes"], warp=False)

    # ---- ears and face ------------------------------------------------------
    eye_y = cy + face_h * q["eye_level"]
    for side in (-1, 1):
        add("polygon", _ellipse(count, side * face_w * 0.97, eye_y + 0.1, 0.08, 0.15),
            skin * 0.88, warp=False)
    angles = _ANGLES[48]
    sin = np.sin(angles)
    lower_half = np.maximum(sin, 0.0)
    jaw = 1.0 + 0.5 * q["mouth_open"] * (sin > 0)
    outline = _points(face_w * np.cos(angles) * (1.0 - q["chin_taper"] * lower_half ** 2),
                      cy + face_h * sin * jaw, count)
    add("polygon", outline, skin, warp=False)

    # cheeks: lighter pads that rise and grow with the cheek raise
    cheek_y = eye_y + 0.2 - 0.06 * cheek
    for side in (-1, 1):
        pad = _ellipse(count, side * (q["eye_dx"] + 0.02), cheek_y, 0.13, 0.08 + 0.02 * cheek)
        add("polygon", pad, skin * (1.0 + 0.07 * cheek), mask=cheek > 0.2)

    # ---- forehead wrinkles (raised brows) and frown lines (pulled brows) -----
    brow_y = eye_y - q["brow_gap"] - q["brow_raise"]
    inner_up = np.maximum(q["brow_inner"], 0.0)
    raised = np.clip((q["brow_raise"] + 0.5 * inner_up) / 0.1, 0, 1)
    for k in range(3):
        y0 = brow_y - 0.1 - 0.06 * k
        line = _curve(count, -0.22, 0.22, lambda u, y0=y0: y0 - 0.02 * (1 - u ** 2))
        add("line", line, skin * (1.0 - 0.2 * raised), 0.012, mask=raised > 0.3)
    pulled = np.clip(q["brow_pull"] / 0.05 - inner_up / 0.08, 0, 1)
    for side in (-1, 1):
        line = _points(np.array([side * 0.035, side * 0.045]) + zero,
                       brow_y + np.array([-0.02, 0.08]), count)
        add("line", line, skin * (1.0 - 0.25 * pulled), 0.014, mask=pulled > 0.3)

    # ---- eyes ---------------------------------------------------------------
    eye_w = q["eye_w"]
    upper = eye_w * q["eye_h"] * (1.0 + q["eye_open"])
    lower = eye_w * 0.32 * (1.0 - 0.8 * q["lid_tighten"])
    iris_r = eye_w * 0.5
    sclera = np.array([235.0, 232, 225])
    for side in (-1, 1):
        ex = side * q["eye_dx"]
        upper_lid = _curve(count, ex - eye_w, ex + eye_w,
                           lambda u: eye_y - upper * (1 - u ** 2) ** 0.8 - 0.01 * side * u)
        lower_lid = _curve(count, ex + eye_w, ex - eye_w, lambda u: eye_y + lower * (1 - u ** 2))
        add("polygon", np.concatenate([upper_lid, lower_lid], 1), sclera)
        iris_y = eye_y + 0.15 * lower
        add("polygon", _ellipse(count, ex, iris_y, iris_r, iris_r), q["iris"])
        add("polygon", _ellipse(count, ex, iris_y, 0.5 * iris_r, 0.5 * iris_r, 12),
            np.array([15.0, 12, 10]))
        # skin over the parts of the iris that the lids hide
        top = eye_y - upper - 2 * iris_r - 0.02
        bottom = eye_y + lower + 2 * iris_r + 0.02
        cover_up = np.concatenate([upper_lid, _points(np.concatenate([ex + eye_w, ex - eye_w], 1),
                                                      np.concatenate([top, top], 1), count)], 1)
        cover_down = np.concatenate([lower_lid, _points(np.concatenate([ex - eye_w, ex + eye_w], 1),
                                                        np.concatenate([bottom, bottom], 1), count)], 1)
        add("polygon", cover_up, skin)
        add("polygon", cover_down, skin * (1.0 + 0.07 * cheek * (cheek > 0.2)))
        add("line", upper_lid, np.minimum(hair * 0.4, skin * 0.4), 0.022)
        add("line", lower_lid, skin * 0.75, 0.01)
        crease = upper_lid[:, 1:-1] - np.array([0.0, 1.0]) * (0.035 + 0.3 * upper * (q["eye_open"] < 0.2))[:, :, None]
        add("line", crease, skin * 0.82, 0.01)

    # ---- eyebrows: tapered polygons from the inner to the outer end ----------
    u = np.linspace(0.0, 1.0, 7)
    arch = q["brow_arch"] + 0.3 * np.maximum(q["brow_raise"], 0.0)
    for side in (-1, 1):
        inner_x = side * (0.09 - q["brow_pull"])
        outer_x = side * (q["eye_dx"] + eye_w + 0.03)
        inner_y = brow_y + 0.015 - q["brow_inner"]
        outer_y = brow_y + 0.02 + 0.35 * inner_up - 0.2 * np.maximum(-q["brow_inner"], 0.0)
        centre_x = inner_x + (outer_x - inner_x) * u
        centre_y = inner_y + (outer_y - inner_y) * u - arch * np.sin(np.pi * u ** 0.8)
        half_thickness = 0.5 * q["brow_thick"] * (1.0 - 0.6 * u)
        brow = _points(np.concatenate([centre_x, centre_x[:, ::-1]], 1),
                       np.concatenate([centre_y - half_thickness,
                                       (centre_y + half_thickness)[:, ::-1]], 1), count)
        add("polygon", brow, np.minimum(hair * 0.75 + 10.0, skin * 0.6))

    # ---- nose ---------------------------------------------------------------
    nose_y = cy + face_h * q["nose_level"] - 0.025 * wrinkle
    nose_w = q["nose_w"] * (1.0 + 0.25 * wrinkle)
    bridge = _points(np.array([0.02, 0.035, 0.0]) + zero,
                     np.concatenate([eye_y + 0.02, nose_y - 0.07, nose_y - 0.005], 1), count)
    add("line", bridge, skin * 0.85, 0.012)
    for side in (-1, 1):
        wing = _curve(count, side * 0.02 + zero, side * nose_w,
                      lambda u: nose_y + 0.01 - 0.00625 * (u + 1) ** 2 + 0.01 * (1 - u ** 2))
        add("line", wing, skin * 0.72, 0.014)
        add("polygon", _ellipse(count, side * nose_w * 0.5, nose_y - 0.005, 0.018, 0.01, 12),
            skin * 0.45)
    for k in range(3):  # wrinkles across the bridge (disgust)
        y0 = eye_y + 0.01 + 0.035 * k
        line = _curve(count, -0.06, 0.06, lambda u, y0=y0: y0 + 0.012 * (1 - u ** 2))
        add("line", line, skin * (1.0 - 0.3 * wrinkle), 0.012, mask=wrinkle > 0.25)

    # ---- mouth --------------------------------------------------------------
    opening = q["mouth_open"]
    lip_raise = q["upper_lip_raise"]
    mouth_y = cy + face_h * q["mouth_level"] + 0.05 * opening - 0.03 * lip_raise \
        - 0.01 * q["chin_raise"]
    half_w = q["mouth_w"] * (1.0 + q["mouth_stretch"]) * (1.0 - 0.12 * q["lip_press"])
    smile = q["smile"]
    open_top = 0.2 * opening + 0.035 * lip_raise
    open_bottom = 0.8 * opening
    # 0.5 draws an elliptic "O"; larger values a thinner, wider lens
    roundness = np.where(opening > 0.05, np.clip(0.55 + 1.2 * q["mouth_stretch"], 0.5, 1.2), 1.0)
    lip_t = q["lip_thick"] * (1.0 - 0.7 * q["lip_press"])
    lip_bottom_t = lip_t * (1.2 + 0.5 * q["chin_raise"])

    def midline(u):
        return mouth_y - smile * u ** 2

    def inner_top(u):
        lift = open_top * (1 - u ** 2) ** roundness
        return midline(u) - lift - 0.012 * lip_raise * (1 - np.cos(np.pi * u))

    def inner_bottom(u):
        return midline(u) + open_bottom * (1 - u ** 2) ** roundness

    def outer_top(u):
        bow = 0.25 * lip_t * np.exp(-(u / 0.15) ** 2)  # cupid's bow
        return inner_top(u) - lip_t * (1 - u ** 2) ** 0.5 + bow

    def outer_bottom(u):
        return inner_bottom(u) + lip_bottom_t * (1 - u ** 2) ** 0.5

    # folds from the nose wings to beside the mouth corners (smile, disgust)
    fold = np.clip(q["fold_depth"] + 0.8 * cheek + 0.5 * wrinkle, 0, 1)
    t = np.linspace(0.0, 1.0, 7)
    for side in (-1, 1):
        start_x, start_y = side * (nose_w + 0.035), nose_y - 0.03
        end_x, end_y = side * (half_w + 0.045), mouth_y - smile + 0.07
        bulge = side * 0.12 * (1 + cheek) * t * (1 - t)
        line = _points(start_x + (end_x - start_x) * t + bulge, start_y + (end_y - start_y) * t,
                       count)
        add("line", line, skin * (1.0 - 0.22 * fold), 0.014, mask=fold > 0.15)

    lips = np.concatenate([_curve(count, -half_w, half_w, outer_top, 13),
                           _curve(count, half_w, -half_w, outer_bottom, 13)], 1)
    add("polygon", lips, q["lip"])
    parted = (opening > 0.012) | (lip_raise > 0.3)
    cavity = np.concatenate([_curve(count, -0.93 * half_w, 0.93 * half_w, inner_top, 13),
                             _curve(count, 0.93 * half_w, -0.93 * half_w, inner_bottom, 13)], 1)
    add("polygon", cavity, np.array([55.0, 25, 25]), mask=parted)
    depth = 0.035 + 0.2 * opening

    def teeth_bottom(u):
        return np.minimum(inner_top(u) + depth * (1 - u ** 2) ** 0.3, inner_bottom(u))

    teeth = np.concatenate([_curve(count, -0.84 * half_w, 0.84 * half_w, inner_top, 13),
                            _curve(count, 0.84 * half_w, -0.84 * half_w, teeth_bottom, 13)], 1)
    add("polygon", teeth, np.array([238.0, 235, 225]), mask=parted & q["teeth"])
    add("line", _curve(count, -half_w, half_w, midline, 13), q["lip"] * 0.55, 0.016,
        mask=~parted)
    chin = _curve(count, -0.07, 0.07,
                  lambda u: mouth_y + open_bottom + lip_bottom_t + 0.05 + 0.015 * (1 - u ** 2))
    add("line", chin, skin * (1.0 - 0.2 * q["chin_raise"]), 0.012, mask=q["chin_raise"] > 0.3)

    # ---- hair in front: a cap over the top of the forehead --------------------
    volume = q["hair_volume"]
    hairline_y = cy - face_h * q["hairline"]
    hairline_y = np.where(style == 2, np.maximum(hairline_y, brow_y - 0.12), hairline_y)
    outer_angles = np.linspace(np.pi - 0.2, 2 * np.pi + 0.2, 17)
    outer_x = (face_w + volume) * np.cos(outer_angles)
    outer_y = cy - 0.02 + (face_h + volume) * np.sin(outer_angles)
    u = np.linspace(1.0, -1.0, 11)
    fringe = 0.03 * np.cos(9 * u) * (style == 2)
    inner_x = u * face_w * 0.9
    inner_y = hairline_y + 0.2 * u ** 4 + fringe
    cap = _points(np.concatenate([outer_x, face_w * 0.97, inner_x, -face_w * 0.97], 1),
                  np.concatenate([outer_y, outer_y[:, -1:], inner_y, outer_y[:, :1]], 1), count)
    add("polygon", cap, hair, mask=style != 3, warp=False)

    # ---- occluders ----------------------------------------------------------
    frame = np.array([25.0, 25, 30])
    glasses = q["glasses"] | q["sunglasses"]
    for side in (-1, 1):
        lens = _ellipse(count, side * q["eye_dx"], eye_y + 0.01, eye_w + 0.055, 0.9 * eye_w + 0.03)
        add("polygon", lens, np.array([30.0, 30, 35]), mask=q["sunglasses"])
        add("ring", lens, frame, 0.02, mask=q["glasses"])
    glasses_bridge = _points(np.concatenate([-q["eye_dx"] + eye_w + 0.05,
                                             q["eye_dx"] - eye_w - 0.05], 1),
                             np.concatenate([eye_y, eye_y], 1), count)
    add("line", glasses_bridge, frame, 0.02, mask=glasses)
    cos, sin = np.cos(q["hand_angle"])[:, :, None], np.sin(q["hand_angle"])[:, :, None]

    def place_hand(points):
        x, y = points[..., 0:1], points[..., 1:2]
        turned = np.concatenate([cos * x - sin * y, sin * x + cos * y], -1)
        return turned + np.stack([q["hand_x"], q["hand_y"]], -1)

    hand_skin = skin * 0.97
    add("polygon", place_hand(_ellipse(count, 0.0, 0.18, 0.2, 0.24)), hand_skin,
        mask=q["hand"], warp=False)
    for k, length in enumerate((0.2, 0.25, 0.24, 0.19)):
        finger = _ellipse(count, -0.14 + 0.095 * k, -0.05 - 0.5 * length, 0.045, 0.75 * length, 12)
        add("polygon", place_hand(finger), hand_skin, mask=q["hand"], warp=False)
    return shapes


def _to_canvas(shapes, p, canvas_size):
    """Move every shape from face coordinates to canvas pixels.

    The head turn (yaw) shifts the inner features sideways, more at the centre
    of the face than at its edge, a cheap stand-in for perspective; then every
    shape is scaled, rotated and shifted. Returns the list with points as
    flat Python coordinate lists per face and widths as integer pixels.
    """
    half = canvas_size / 2.0
    cos, sin = np.cos(p["angle"]), np.sin(p["angle"])
    pixels = half * p["scale"]
    a, b = (pixels * cos)[:, None], (-pixels * sin)[:, None]
    c, d = (pixels * sin)[:, None], (pixels * cos)[:, None]
    offset_x = half * (1.0 + p["shift_x"])[:, None]
    offset_y = half * (1.0 + p["shift_y"])[:, None]
    yaw_shift = 0.12 * p["yaw"][:, None]
    face_w = p["face_w"][:, None]
    placed = []
    for kind, points, colour, width, mask, warp in shapes:
        points = np.asarray(points, dtype=float)
        if warp:
            x = np.clip(points[..., 0] / face_w, -1.0, 1.0)
            points = points.copy()
            points[..., 0] += yaw_shift * np.cos(0.5 * np.pi * x)
        x, y = points[..., 0], points[..., 1]
        canvas = np.empty(points.shape)
        canvas[..., 0] = a * x + b * y + offset_x
        canvas[..., 1] = c * x + d * y + offset_y
        if width is not None:
            width = np.maximum(1, np.rint(width[:, 0] * pixels)).astype(int).tolist()
        placed.append((kind, canvas.reshape(len(canvas), -1).tolist(), colour, width, mask))
    return placed


def generate_faces(count, seed, image_size=48, channels=1, label_noise=0.03):
    """Draw ``count`` synthetic expressive faces and their emotion labels.

    Returns ``(images, labels)``: ``images`` is ``uint8`` of shape
    ``(count, image_size, image_size, channels)``, ``labels`` is ``int64`` of
    shape ``(count,)`` with ids 0-6 in the FER2013 order (angry, disgust, fear,
    happy, sad, surprise, neutral; ``ferkit.data.EMOTIONS``). Classes are drawn
    with :data:`SAMPLE_CLASS_FREQUENCIES`, then a ``label_noise`` fraction of the
    labels is replaced by a random other class. ``channels=1`` gives
    FER2013-like grayscale faces (48x48), ``channels=3`` RAF-DB-like colour
    faces (the course uses 100x100x3). The same arguments always give the same
    arrays; another ``seed`` gives other faces. Synthetic faces: results on
    them are sample results, not FER2013 results. Lesson 02_fer2013.
    """
    _check_arguments(count, image_size, channels, label_noise)
    count, image_size = int(count), int(image_size)
    if count == 0:
        return (np.zeros((0, image_size, image_size, channels), dtype=np.uint8),
                np.zeros(0, dtype=np.int64))
    rng = np.random.default_rng(seed)
    parameters, _, labels = _sample_parameters(count, rng, float(label_noise))
    canvas_size = image_size * _SUPERSAMPLE
    shapes = _to_canvas(_face_shapes(parameters, count), parameters, canvas_size)

    if channels == 1:
        mode = "L"

        def inks(colour):
            return np.clip(np.rint(colour @ _LUMA), 0, 255).astype(int).tolist()
    else:
        mode = "RGB"

        def inks(colour):
            return [tuple(c) for c in np.clip(np.rint(colour), 0, 255).astype(int).tolist()]

    shapes = [(kind, points, inks(colour), width, mask) for kind, points, colour, width, mask
              in shapes]
    backgrounds = inks(parameters["background"])
    camera = _sample_camera(count, rng)
    images = np.empty((count, image_size, image_size, channels), dtype=np.uint8)
    for start in range(0, count, _CHUNK):  # chunks keep the float buffer small
        stop = min(start + _CHUNK, count)
        chunk = np.empty((stop - start, image_size, image_size, channels), dtype=np.float32)
        for i in range(start, stop):
            canvas = Image.new(mode, (canvas_size, canvas_size), backgrounds[i])
            draw = ImageDraw.Draw(canvas)
            for kind, points, colours, widths, mask in shapes:
                if mask is not None and not mask[i]:
                    continue
                if kind == "polygon":
                    draw.polygon(points[i], fill=colours[i])
                elif kind == "line":
                    draw.line(points[i], fill=colours[i], width=widths[i])
                else:
                    draw.polygon(points[i], outline=colours[i], width=widths[i])
            small = np.asarray(canvas.reduce(_SUPERSAMPLE), dtype=np.float32)
            chunk[i - start] = small.reshape(image_size, image_size, channels)
        settings = {name: values[start:stop] for name, values in camera.items()}
        _camera_effects(chunk, settings, rng)
        images[start:stop] = np.clip(np.rint(chunk), 0, 255)
    return images, labels


def _check_arguments(count, image_size, channels, label_noise):
    """Raise ValueError naming the first bad argument of generate_faces."""
    def is_integer(value):
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if not is_integer(count) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}")
    if not is_integer(image_size) or image_size < 32:
        raise ValueError(f"image_size must be an integer of at least 32 (pixels), "
                         f"got {image_size!r}")
    if not is_integer(channels) or channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    if isinstance(label_noise, bool) or not isinstance(label_noise, (int, float, np.number)) \
            or not 0.0 <= label_noise <= 0.5:
        raise ValueError(f"label_noise must be a fraction in [0, 0.5], got {label_noise!r}")


def _sample_camera(count, rng):
    """Per-image camera settings: lighting direction and strength, contrast, etc."""
    uniform = rng.uniform
    direction = uniform(0, 2 * np.pi, count)
    return dict(
        light_cos_sin=np.stack([np.cos(direction), np.sin(direction)], 1).astype(np.float32),
        light_strength=uniform(0.0, 0.35, count).astype(np.float32),
        contrast=uniform(0.8, 1.2, count).astype(np.float32),
        brightness=uniform(-20, 20, count).astype(np.float32),
        blur=uniform(size=count) < 0.25,
        noise=uniform(1.0, 6.0, count).astype(np.float32),
    )


def _camera_effects(images, camera, rng):
    """Apply lighting gradient, contrast, brightness, blur and noise in place.

    ``images`` is a float32 batch (n, size, size, channels); ``camera`` holds
    the n settings of :func:`_sample_camera`; the sensor noise comes from rng.
    """
    size = images.shape[1]
    axis = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    cos, sin = camera["light_cos_sin"][:, 0], camera["light_cos_sin"][:, 1]
    ramp = cos[:, None, None] * axis[None, None, :] + sin[:, None, None] * axis[None, :, None]
    images *= (1.0 + camera["light_strength"][:, None, None] * ramp)[..., None]
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    images -= mean
    images *= camera["contrast"][:, None, None, None]
    images += mean + camera["brightness"][:, None, None, None]
    blurred = np.flatnonzero(camera["blur"])
    if len(blurred):
        soft = np.pad(images[blurred], ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        soft = (soft[:, :-2] + 2 * soft[:, 1:-1] + soft[:, 2:]) * 0.25
        soft = (soft[:, :, :-2] + 2 * soft[:, :, 1:-1] + soft[:, :, 2:]) * 0.25
        images[blurred] = soft
    noise = rng.standard_normal(size=images.shape, dtype=np.float32)
    noise *= camera["noise"][:, None, None, None]
    images += noise
    return images
