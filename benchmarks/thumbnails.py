"""Thumbnails from a 24-megapixel photo: portal.media against a naive full-decode-and-resize.

Run: python benchmarks/thumbnails.py [--repeat 3]

Makes a photo-like 6000x4000 JPEG, then times, each approach in a fresh subprocess (so its
peak memory can be measured alone, as the rise of VmHWM over the same interpreter with Pillow
and portal.media imported):

  (a) variant() for every variant (7 JPEG + 3 WebP) straight from the 24 MP file stored as the
      original (draft-mode decoding), vs naive: full decode + plain resize for each variant;
  (b) the real upload path, intake() + save_original() + commit_file() + every variant(), vs
      naive: store the uploaded bytes + full decode + plain resize for each variant;
  (c) for reference, every variant() from the capped 2048 px original that intake() and
      save_original() wrote (what the first page views after an upload cost), vs naive (a).

Targets: each of ours at most 1/3 of its naive time, and at most 100 MB of peak memory over
the baseline. Exits 1 if a target is missed.
"""
import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZE = (6000, 4000)
TIME_RATIO_LIMIT = 1 / 3
MEMORY_LIMIT_MB = 100


def make_photo(path):
    """A photo-like 24 MP JPEG: soft colour fields, shapes with blurred edges and sensor grain."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rng = random.Random(24)
    im = Image.frombytes("RGB", (24, 16), rng.randbytes(24 * 16 * 3)).resize(SIZE, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(im)
    for _ in range(400):
        x, y, r = rng.randrange(SIZE[0]), rng.randrange(SIZE[1]), rng.randrange(20, 400)
        draw.ellipse((x - r, y - r // 2, x + r, y + r // 2), fill=tuple(rng.randrange(256) for _ in range(3)))
    im = im.filter(ImageFilter.GaussianBlur(2))
    im = ImageChops.add(im, Image.effect_noise(SIZE, 6).convert("RGB"), offset=-128)
    im.save(path, "JPEG", quality=90)


# --------------------------------------------------------------------------- worker side

def peak_kb():
    """Peak resident memory of this process so far, in KiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def outputs():
    from portal import media

    for name, spec in media.VARIANTS.items():
        yield name, spec, False
        if spec.webp:
            yield name, spec, True


def ours_from_stored(media, photo, work):
    """(a) every variant from the 24 MP file stored as the original."""
    media_id = media.new_media_id()
    original = media.media_path(work, media_id)
    original.parent.mkdir(parents=True)
    shutil.copyfile(photo, original)
    start = time.perf_counter()
    for name, _, webp in outputs():
        media.variant(work, media_id, name, webp)
    return time.perf_counter() - start


def ours_from_upload(media, photo, work):
    """(b) the upload path: intake, save_original, commit_file, every variant."""
    data = Path(photo).read_bytes()
    start = time.perf_counter()
    media_id = media.new_media_id()
    image = media.intake(data, "image/jpeg")
    media.commit_file(media.save_original(image, work, media_id))
    del image, data
    for name, _, webp in outputs():
        media.variant(work, media_id, name, webp)
    return time.perf_counter() - start


def ours_from_capped(media, photo, work):
    """The real pipeline after an upload: every variant from the capped original (setup untimed)."""
    media_id = media.new_media_id()
    media.commit_file(media.save_original(media.intake(Path(photo).read_bytes()), work, media_id))
    start = time.perf_counter()
    for name, _, webp in outputs():
        media.variant(work, media_id, name, webp)
    return time.perf_counter() - start


def naive_variants(photo, folder):
    """Full decode of the original and a plain resize for each variant."""
    from PIL import Image, ImageOps

    for name, spec, webp in outputs():
        with Image.open(photo) as im:
            im = im.convert("RGB")
            if spec.square:
                side = min(spec.width, *im.size)
                small = ImageOps.fit(im, (side, side))
            else:
                width = min(spec.width, im.width)
                small = im.resize((width, round(im.height * width / im.width)))
            del im
        if webp:
            small.save(folder / f"{name}.webp", "WEBP", quality=80)
        else:
            small.save(folder / f"{name}.jpg", "JPEG", quality=85)


def naive_from_stored(media, photo, work):
    folder = Path(tempfile.mkdtemp(dir=work))
    start = time.perf_counter()
    naive_variants(photo, folder)
    return time.perf_counter() - start


def naive_from_upload(media, photo, work):
    data = Path(photo).read_bytes()
    folder = Path(tempfile.mkdtemp(dir=work))
    start = time.perf_counter()
    (folder / "original.jpg").write_bytes(data)
    del data
    naive_variants(folder / "original.jpg", folder)
    return time.perf_counter() - start


APPROACHES = {"ours-stored": ours_from_stored, "naive-stored": naive_from_stored,
              "ours-upload": ours_from_upload, "naive-upload": naive_from_upload,
              "ours-capped": ours_from_capped}
# Which naive run each of ours is compared with.
COMPARED = {"ours-stored": "naive-stored", "ours-upload": "naive-upload", "ours-capped": "naive-stored"}
LABELS = {"ours-stored": "(a) variants from the stored 24 MP original",
          "ours-upload": "(b) intake + save + variants, 24 MP upload",
          "ours-capped": "(c) variants from the capped 2048 px original"}


def worker(approach, photo, work, repeat):
    from PIL import Image  # noqa: F401  (the baseline: an interpreter with Pillow and portal.media)

    from portal import media

    baseline = peak_kb()
    times = [APPROACHES[approach](media, photo, work) for _ in range(repeat)]
    print(json.dumps({"times": times, "baseline_kb": baseline, "peak_kb": peak_kb()}))


# --------------------------------------------------------------------------- driver side

def run(approach, photo, work, repeat):
    folder = Path(work) / approach
    folder.mkdir()
    done = subprocess.run([sys.executable, __file__, "--worker", approach, str(photo), str(folder),
                           "--repeat", str(repeat)], check=True, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["time"] = statistics.median(result["times"])
    result["rise_mb"] = (result["peak_kb"] - result["baseline_kb"]) / 1024
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", nargs=3, metavar=("APPROACH", "PHOTO", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, args.repeat)
        return 0

    from common import report

    work = Path(tempfile.mkdtemp(prefix="portal-thumbs-"))
    try:
        photo = work / "photo-24mp.jpg"
        make_photo(photo)
        print(f"original: {SIZE[0]}x{SIZE[1]} JPEG, {photo.stat().st_size / 1e6:.1f} MB; "
              f"10 outputs (7 JPEG variants + 3 WebP); median of {args.repeat}, one subprocess per approach")
        results = {name: run(name, photo, work, args.repeat) for name in APPROACHES}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"baseline peak RSS (Python + Pillow + portal.media): {results['ours-stored']['baseline_kb'] / 1024:.0f} MB")
    for name, result in results.items():
        report(f"{name}: time", result["time"], unit=" s")
        report(f"{name}: peak memory over baseline", result["rise_mb"],
               MEMORY_LIMIT_MB if name.startswith("ours") else None, unit=" MB")
    ok = True
    for ours, naive in COMPARED.items():
        ratio = results[ours]["time"] / results[naive]["time"]
        ok &= report(f"time vs naive, {LABELS[ours]}", ratio, round(TIME_RATIO_LIMIT, 3))
        ok &= results[ours]["rise_mb"] <= MEMORY_LIMIT_MB
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
