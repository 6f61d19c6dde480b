"""The ``ferkit`` command (also ``python -m ferkit``).

    ferkit predict PHOTO [--out annotated.png] [--tta flip]
    ferkit experiments run bedi_cnn --dataset fer2013
"""

from __future__ import annotations

import argparse
import sys


def predict_command(options):
    from ferkit import pretrained

    try:
        faces = pretrained.predict_faces(options.photo, tta=options.tta)
    except (FileNotFoundError, ValueError) as error:
        print(f"ferkit predict: {error}", file=sys.stderr)
        return 2
    if not faces:
        print(f"No face found in {options.photo}. Try a larger, frontal, well-lit face.")
    for number, face in enumerate(faces, start=1):
        x, y, width, height = face["box"]
        ranked = sorted(face["probabilities"].items(), key=lambda item: -item[1])
        shares = ", ".join(f"{emotion} {p:.1%}" for emotion, p in ranked[:3])
        print(f"face {number} at x={x} y={y} {width}x{height}: {face['label']} ({shares})")
    if options.out:
        pretrained.write_image(pretrained.annotate(options.photo, faces), options.out)
        print(f"annotated image written to {options.out}")
    return 0


def main(arguments=None):
    arguments = list(sys.argv[1:] if arguments is None else arguments)
    if arguments[:1] == ["experiments"]:
        from ferkit import runner

        return runner.main(arguments[1:])
    parser = argparse.ArgumentParser(prog="ferkit", description="Facial-expression recognition course tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    predictor = commands.add_parser("predict", help="find faces in a photo and predict their expressions")
    predictor.add_argument("photo")
    predictor.add_argument("--out", help="write the photo with boxes and labels to this file")
    predictor.add_argument("--tta", choices=("none", "flip", "tencrop"), default="none",
                           help="test-time augmentation")
    commands.add_parser("experiments", help="run the papers' experiments (see: ferkit experiments --help)")
    options = parser.parse_args(arguments)
    return predict_command(options)


if __name__ == "__main__":
    sys.exit(main())
