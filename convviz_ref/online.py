"""The classic chapter's real data: Oxford-IIIT Pets, cats-vs-dogs, ImageNet Xception.

These loaders are for users who are online, or who already have the data on
disk. They live apart from :mod:`convviz_ref.data` because nothing in them
works on an offline machine with an empty cache, and the course must run
there: its offline defaults are :func:`convviz_ref.data.load_shapes` (for
Oxford-IIIT Pets and cats-vs-dogs), :func:`convviz_ref.data.sample_image` (a
real cat photograph) and :func:`convviz_ref.models.load_pretrained` (for
ImageNet Xception).

Offline, every loader fails at once with one clear error that names the
offline default to use instead: :class:`OfflineError` when a download is
needed (after a probe of a few seconds at most, never a long network
timeout), or ``FileNotFoundError`` when the data must come from a folder the
user provides. Downloads go to Keras's cache folder (``$KERAS_HOME``, else
``~/.keras``), read when the loader is called.

Arrays follow the package's contract: images float32
``(batch, height, width, 3)`` in 0..255, masks int32 ``(batch, height,
width)`` trimaps (``0`` object, ``1`` background, ``2`` contour). For
example, online::

    pets = load_oxford_pets(download=True, n=1000)
    model = load_imagenet_xception()

Note that ``keras.applications.xception.decode_predictions`` downloads
ImageNet's class index on its first call as well.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import threading
import urllib.parse
import urllib.request
from typing import NamedTuple

import keras
import numpy as np

SHAPES_DEFAULT = "convviz_ref.data.load_shapes(split)"
PRETRAINED_DEFAULT = 'convviz_ref.models.load_pretrained("xception_like")'

PETS_HOST = "www.robots.ox.ac.uk"
PETS_PAGE = "https://www.robots.ox.ac.uk/~vgg/data/pets/"
PETS_URLS = {
    "images": "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz",
    "annotations": "https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz",
}
"""The two archives of Oxford-IIIT Pets; each unpacks to the folder named by its key."""

CATS_VS_DOGS_SOURCE = "https://www.kaggle.com/c/dogs-vs-cats/data"
CATS_VS_DOGS_SPLITS = ("train", "validation", "test")

XCEPTION_HOST = "storage.googleapis.com"
XCEPTION_WEIGHTS = {
    True: (
        "xception_weights_tf_dim_ordering_tf_kernels.h5",
        "0a58e3b7378bc2990ea3b43d5981f1f6",
    ),
    False: (
        "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "b0042744bf5b25fce3cb969f33bebb97",
    ),
}
"""``include_top -> (file name, md5)`` of the ImageNet weights, as Keras names them."""

XCEPTION_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/xception/{}"
)


class OfflineError(ConnectionError):
    """A download is needed and its host cannot be reached.

    The message is one line: what could not be reached, why, and the offline
    default to use instead.
    """


def check_online(host, port=443, timeout=3.0, *, instead=SHAPES_DEFAULT):
    """Check quickly that ``host`` accepts a TCP connection (which is closed at once).

    When an HTTPS proxy is configured (``https_proxy``, and ``host`` is not
    in ``no_proxy``), the proxy is probed instead, since downloads go
    through it. The whole probe, name lookup included, takes at most about
    ``timeout`` seconds.

    Args:
        host: host name, e.g. ``"storage.googleapis.com"``.
        port: int, TCP port.
        timeout: float, seconds to wait before giving up.
        instead: what the error message tells an offline user to use.

    Raises:
        OfflineError: if the connection fails or times out.
    """
    target = _https_proxy(host) or (host, port)
    outcome = {}

    def probe():
        try:
            socket.create_connection(target, timeout=timeout).close()
            outcome["ok"] = True
        except OSError as error:
            outcome["error"] = error

    # In a daemon thread, because the name lookup in create_connection
    # ignores the timeout: a machine with a DNS server but no route can hang
    # there for tens of seconds.
    thread = threading.Thread(target=probe, name=f"check_online {host}", daemon=True)
    thread.start()
    thread.join(timeout)
    if outcome.get("ok"):
        return
    reason = (
        _one_line(outcome["error"])
        if "error" in outcome
        else f"no answer in {timeout} s"
    )
    via = "" if target == (host, port) else f" via proxy {target[0]}:{target[1]}"
    raise OfflineError(
        f"cannot reach {host}:{port}{via} ({reason}); offline, use {instead} instead"
    )


def _https_proxy(host):
    """The ``(proxy_host, proxy_port)`` of HTTPS requests to ``host``, or None."""
    proxy = urllib.request.getproxies().get("https")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


def keras_cache_dir():
    """Keras's cache folder, read now: ``$KERAS_HOME``, else ``~/.keras``.

    Like Keras, falls back to ``/tmp/.keras`` when the home folder is not
    writable. (Keras itself reads ``KERAS_HOME`` once, when imported.)

    Returns:
        A ``pathlib.Path`` (which may not exist yet).
    """
    if "KERAS_HOME" in os.environ:
        return pathlib.Path(os.environ["KERAS_HOME"]).expanduser()
    home = pathlib.Path("~").expanduser()
    return (home if os.access(home, os.W_OK) else pathlib.Path("/tmp")) / ".keras"


# --------------------------------------------------------------------------
# Oxford-IIIT Pets: images and trimap masks, for segmentation.
# --------------------------------------------------------------------------


class Pets(NamedTuple):
    """What :func:`load_oxford_pets` returns; unpacks like a tuple.

    Attributes:
        images: float32 array of shape ``(n, size, size, 3)``, values in 0..255.
        masks: int32 trimaps of shape ``(n, size, size)``: the file's values
            minus one, so ``0`` pet, ``1`` background, ``2`` border.
        paths: the image files, a tuple of ``pathlib.Path`` in array order.
    """

    images: np.ndarray
    masks: np.ndarray
    paths: tuple[pathlib.Path, ...]


def load_oxford_pets(directory=None, *, image_size=200, n=None, download=False):
    """Load Oxford-IIIT Pets images and their trimap masks, as in the book.

    The folder holds ``images/*.jpg`` and ``annotations/trimaps/*.png``
    (what the dataset's two archives unpack to). An image and a trimap go
    together when their file names share a stem (``Abyssinian_1.jpg`` and
    ``Abyssinian_1.png``); images without a trimap are skipped, and so are
    hidden files such as macOS's ``._*``. Images are resized bilinearly,
    trimaps with nearest neighbour (so they keep their values); both are
    squashed to a square, as in the book. The full dataset (7,390 images)
    takes 3.5 GB at the default size: use ``n`` for less.

    Args:
        directory: the dataset's folder; ``None`` for
            ``<keras cache>/datasets/oxford_pets``.
        image_size: int, height and width in pixels after resizing.
        n: number of images (the first ``n`` in file-name order), or
            ``None`` for all of them.
        download: bool; if the folder lacks the images or the trimaps,
            download and unpack the archives there (about 800 MB) first.

    Returns:
        A :class:`Pets` tuple ``(images, masks, paths)``, sorted by file name.

    Raises:
        FileNotFoundError: if the data is not in the folder and ``download``
            is False, or if no image in it has a trimap.
        OfflineError: if a download is needed and the host cannot be reached.
        ValueError: for an image size under 1, ``n`` out of range, or an
            image or trimap file that cannot be read (the message names it).
    """
    if image_size < 1:
        raise ValueError(
            f"image_size must be a positive number of pixels, got {image_size}"
        )
    if directory is None:
        directory = keras_cache_dir() / "datasets" / "oxford_pets"
    directory = pathlib.Path(directory).expanduser()
    images_dir, trimaps_dir = (
        directory / "images",
        directory / "annotations" / "trimaps",
    )
    if not (images_dir.is_dir() and trimaps_dir.is_dir()):
        if not download:
            raise FileNotFoundError(
                f"Oxford-IIIT Pets is not in {directory} (need images/*.jpg and "
                f"annotations/trimaps/*.png); pass download=True or get it from "
                f"{PETS_PAGE}; offline, use {SHAPES_DEFAULT} instead"
            )
        _download_pets(directory)

    trimaps = {path.stem: path for path in _visible(trimaps_dir, "*.png")}
    paths = [path for path in _visible(images_dir, "*.jpg") if path.stem in trimaps]
    if not paths:
        raise FileNotFoundError(
            f"no image in {images_dir} has a trimap in {trimaps_dir}"
        )
    n = len(paths) if n is None else n
    if not 0 <= n <= len(paths):
        raise ValueError(
            f"n must be between 0 and {len(paths)} (images with a trimap), got {n}"
        )
    paths = paths[:n]

    size = (image_size, image_size)
    images = np.empty((n, *size, 3), np.float32)
    masks = np.empty((n, *size), np.int32)
    for index, path in enumerate(paths):
        images[index] = _read_image(path, target_size=size, interpolation="bilinear")
        trimap_path = trimaps[path.stem]
        trimap = _read_image(
            trimap_path,
            target_size=size,
            color_mode="grayscale",
            interpolation="nearest",
        )[..., 0].astype(np.int32)
        if trimap.min() < 1 or trimap.max() > 3:
            raise ValueError(
                f"trimap {trimap_path} has values {np.unique(trimap).tolist()}, "
                "expected 1, 2, 3"
            )
        masks[index] = trimap - 1
    return Pets(images, masks, tuple(paths))


def _visible(folder, pattern):
    """Files in ``folder`` matching ``pattern``, sorted, hidden ones left out."""
    return sorted(
        (path for path in folder.glob(pattern) if not path.name.startswith(".")),
        key=lambda path: path.name,
    )


def _read_image(path, **kwargs):
    """``keras.utils.load_img`` as float32; a damaged file is a one-line ValueError."""
    try:
        return keras.utils.img_to_array(
            keras.utils.load_img(path, **kwargs), dtype="float32"
        )
    except (
        OSError,
        SyntaxError,
        ValueError,
    ) as error:  # what PIL raises for a bad file
        raise ValueError(f"cannot read image file {path}: {_one_line(error)}") from None


def _download_pets(directory):
    """Download and unpack the missing Oxford-IIIT Pets archives into ``directory``."""
    check_online(PETS_HOST, instead=SHAPES_DEFAULT)
    directory.mkdir(parents=True, exist_ok=True)  # else get_file would use /tmp/.keras
    archives = directory / "archives"
    needed = {
        "images": directory / "images",
        "annotations": directory / "annotations" / "trimaps",
    }
    for name, url in PETS_URLS.items():
        if needed[name].is_dir():
            continue
        # Keras 3 unpacks "<name>.tar.gz" into "<name>_extracted/", which
        # holds the archive's top folder, <name>/.
        extracted = keras.utils.get_file(
            f"{name}.tar.gz",
            url,
            extract=True,
            cache_dir=str(directory),
            cache_subdir="archives",
        )
        source, target = pathlib.Path(extracted) / name, directory / name
        target.mkdir(exist_ok=True)
        for child in source.iterdir():  # merge: never overwrite what the user has
            if not (target / child.name).exists():
                shutil.move(child, target / child.name)
    shutil.rmtree(archives, ignore_errors=True)


# --------------------------------------------------------------------------
# Cats vs dogs: the book's folder of JPEG files.
# --------------------------------------------------------------------------


def load_cats_vs_dogs(directory, *, image_size=180, batch_size=32, seed=0):
    """Load the book's cats-vs-dogs subset as ``tf.data`` datasets.

    The folder holds ``{train,validation,test}/{cat,dog}/*.jpg``, as the book
    builds it from Kaggle's "Dogs vs. Cats" (which needs a Kaggle account, so
    there is no download here). Every split uses the class folders of the
    first split found, in alphabetical order, so labels mean the same thing
    everywhere (``0`` cat, ``1`` dog).

    Args:
        directory: the folder that holds the split folders.
        image_size: int, height and width in pixels after resizing.
        batch_size: int, images per batch.
        seed: int, the shuffling seed.

    Returns:
        dict from split name (``"train"``, ``"validation"``, ``"test"``,
        whichever folders exist) to a ``tf.data.Dataset`` of
        ``(images, labels)`` batches: float32 ``(batch, size, size, 3)`` in
        0..255 and int32 ``(batch,)``. Only ``"train"`` is shuffled. Each
        dataset has a ``class_names`` attribute.

    Raises:
        FileNotFoundError: if the folder holds none of the split folders.
        ValueError: for an image size under 1.
    """
    if image_size < 1:
        raise ValueError(
            f"image_size must be a positive number of pixels, got {image_size}"
        )
    directory = pathlib.Path(directory).expanduser()
    splits = [split for split in CATS_VS_DOGS_SPLITS if (directory / split).is_dir()]
    if not splits:
        raise FileNotFoundError(
            f"cats-vs-dogs is not in {directory} (need train/, validation/ or test/ "
            f"with cat/ and dog/ inside); build it from {CATS_VS_DOGS_SOURCE} "
            f"as in the book; offline, use {SHAPES_DEFAULT} instead"
        )
    first = directory / splits[0]
    class_names = sorted(
        path.name
        for path in first.iterdir()
        if path.is_dir() and not path.name.startswith(".")
    )
    return {
        split: keras.utils.image_dataset_from_directory(
            directory / split,
            class_names=class_names,
            image_size=(image_size, image_size),
            batch_size=batch_size,
            seed=seed,
            shuffle=split == "train",
        )
        for split in splits
    }


# --------------------------------------------------------------------------
# Xception trained on ImageNet.
# --------------------------------------------------------------------------


def load_imagenet_xception(weights="imagenet", *, include_top=True):
    """Build ``keras.applications.Xception``, with ImageNet weights by default.

    The ImageNet weights (88 MB with the classifier, 80 MB without) come from
    Keras's cache folder (see :func:`keras_cache_dir`) or are downloaded
    there; a weights file that you pass is loaded without any network.

    Args:
        weights: ``"imagenet"``, the path of a weights file (``.weights.h5``
            or a legacy ``.h5``), or ``None`` for random weights.
        include_top: bool, keep the 1000-class ImageNet classifier (the book
            keeps it for Grad-CAM and drops it to visualize filters).

    Returns:
        The uncompiled ``keras.Model``. It expects images preprocessed with
        ``keras.applications.xception.preprocess_input`` (values in -1..1),
        299 x 299 with the classifier.

    Raises:
        OfflineError: if the ImageNet weights are not cached and their host
            cannot be reached.
        FileNotFoundError: if ``weights`` is a path that does not exist.
    """
    if weights == "imagenet":
        fname, md5 = XCEPTION_WEIGHTS[bool(include_top)]
        cache = keras_cache_dir()
        weights = cache / "models" / fname
        if not weights.is_file():
            check_online(XCEPTION_HOST, instead=PRETRAINED_DEFAULT)
            cache.mkdir(
                parents=True, exist_ok=True
            )  # else get_file would use /tmp/.keras
            weights = keras.utils.get_file(
                fname,
                XCEPTION_URL.format(fname),
                file_hash=md5,
                cache_dir=str(cache),
                cache_subdir="models",
            )
    elif weights is not None and not pathlib.Path(weights).is_file():
        raise FileNotFoundError(
            f"no weights file {weights}; pass weights='imagenet' (online), "
            f"or offline use {PRETRAINED_DEFAULT} instead"
        )
    weights = None if weights is None else str(weights)
    return keras.applications.Xception(weights=weights, include_top=include_top)
