"""The loaders of real data: tiny on-disk fixtures, and fast offline errors."""

from __future__ import annotations

import io
import socket
import tarfile
import threading
import time
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

from convviz_ref import online

SIZE = 24  # trimaps are drawn at this size, so loading at it keeps them pixel-exact
STEM_RED = {"a_1": 40, "b_2": 120, "c_3": 200}  # each image's red level identifies it
STEM_BAND = {"a_1": 1, "b_2": 2, "c_3": 3}  # ... and each trimap's top band


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Probes go to the host itself whatever the machine's proxy settings."""
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def trimap_pattern(stem):
    """A known trimap (values 1..3): stripes, and a top band identifying the stem."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    trimap = 1 + (rows // 3 + cols // 5) % 3
    trimap[:4] = STEM_BAND[stem]
    return trimap.astype(np.uint8)


def write_jpeg(path, red, size=(30, 40)):
    image = np.zeros((*size, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = red, 90, 255 - red
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, format="JPEG", quality=95)


def make_pets(directory):
    """Three image + trimap pairs, an image without trimap, a lone trimap, junk."""
    images, trimaps = directory / "images", directory / "annotations" / "trimaps"
    trimaps.mkdir(parents=True)
    for stem in ("c_3", "a_1", "b_2"):  # written out of order
        write_jpeg(images / f"{stem}.jpg", STEM_RED[stem])
        Image.fromarray(trimap_pattern(stem)).save(trimaps / f"{stem}.png")
    write_jpeg(images / "d_no_trimap.jpg", 0)
    Image.fromarray(trimap_pattern("a_1")).save(trimaps / "z_no_image.png")
    # macOS resource forks, as in the real trimaps archive: not images at all.
    (images / "._a_1.jpg").write_bytes(b"\x00\x05\x16\x07 junk")
    (trimaps / "._a_1.png").write_bytes(b"\x00\x05\x16\x07 junk")
    return directory


@pytest.fixture
def pets_dir(tmp_path):
    return make_pets(tmp_path / "pets")


# --------------------------------------------------------------------------
# Oxford-IIIT Pets
# --------------------------------------------------------------------------


def test_pets_shapes_dtypes_and_ranges(pets_dir):
    pets = online.load_oxford_pets(pets_dir, image_size=16)
    assert pets.images.shape == (3, 16, 16, 3) and pets.images.dtype == np.float32
    assert pets.masks.shape == (3, 16, 16) and pets.masks.dtype == np.int32
    assert 0 <= pets.images.min() and pets.images.max() <= 255 and pets.images.max() > 1
    assert set(np.unique(pets.masks)) == {
        0,
        1,
        2,
    }  # nearest neighbour: no blended values


def test_pets_masks_are_trimaps_minus_one(pets_dir):
    pets = online.load_oxford_pets(pets_dir, image_size=SIZE)
    for path, mask in zip(pets.paths, pets.masks):
        np.testing.assert_array_equal(
            mask, trimap_pattern(path.stem).astype(np.int32) - 1
        )


def test_pets_match_image_and_trimap_by_stem_in_name_order(pets_dir):
    pets = online.load_oxford_pets(pets_dir, image_size=SIZE)
    assert [path.name for path in pets.paths] == ["a_1.jpg", "b_2.jpg", "c_3.jpg"]
    for path, image, mask in zip(pets.paths, pets.images, pets.masks):
        assert (
            abs(image[..., 0].mean() - STEM_RED[path.stem]) < 3
        )  # the right image ...
        assert (mask[:4] == STEM_BAND[path.stem] - 1).all()  # ... with its own trimap


def test_pets_n_takes_the_first_images(pets_dir):
    pets = online.load_oxford_pets(pets_dir, image_size=8, n=2)
    assert [path.stem for path in pets.paths] == ["a_1", "b_2"]
    assert pets.images.shape == (2, 8, 8, 3) and pets.masks.shape == (2, 8, 8)
    with pytest.raises(ValueError, match="n must be between 0 and 3.*got 4"):
        online.load_oxford_pets(pets_dir, n=4)


@pytest.mark.parametrize("damage", ["not_an_image", "truncated"])
def test_pets_corrupt_image_gives_one_line_value_error(pets_dir, damage):
    path = pets_dir / "images" / "b_2.jpg"
    data = path.read_bytes()
    path.write_bytes(
        b"this is not a JPEG file" if damage == "not_an_image" else data[:300]
    )
    with pytest.raises(ValueError, match=r"cannot read image file .*b_2\.jpg") as error:
        online.load_oxford_pets(pets_dir, image_size=8)
    assert "\n" not in str(error.value)
    assert error.value.__suppress_context__  # no PIL traceback chained to it


def test_pets_trimap_with_other_values_is_rejected(pets_dir):
    Image.fromarray(np.full((SIZE, SIZE), 255, np.uint8)).save(
        pets_dir / "annotations" / "trimaps" / "a_1.png"
    )
    with pytest.raises(ValueError, match=r"trimap .*a_1\.png has values \[255\]"):
        online.load_oxford_pets(pets_dir, image_size=8)


def test_pets_missing_directory_says_how_to_get_it(tmp_path, network_attempts):
    with pytest.raises(FileNotFoundError) as error:
        online.load_oxford_pets(tmp_path / "nowhere")
    message = str(error.value)
    assert "download=True" in message and online.PETS_PAGE in message
    assert "convviz_ref.data.load_shapes" in message and "\n" not in message
    assert network_attempts == []


def test_pets_default_directory_is_in_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(FileNotFoundError, match=r"keras[/\\]datasets[/\\]oxford_pets"):
        online.load_oxford_pets()


@pytest.mark.tries_network
def test_pets_download_offline_fails_fast(tmp_path, network_attempts):
    directory = tmp_path / "pets"
    start = time.perf_counter()
    with pytest.raises(online.OfflineError) as error:
        online.load_oxford_pets(directory, download=True)
    assert time.perf_counter() - start < 10
    message = str(error.value)
    assert (
        online.PETS_HOST in message and "load_shapes" in message and "\n" not in message
    )
    assert network_attempts == [online.PETS_HOST]
    assert not directory.exists()  # nothing half-downloaded left behind


def test_pets_download_unpacks_the_archives(tmp_path, monkeypatch, network_attempts):
    """The download path end to end, from local file:// archives (no network)."""
    source = make_pets(tmp_path / "source")
    urls = {}
    for name in online.PETS_URLS:
        archive = tmp_path / f"{name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(source / name, arcname=name)
        urls[name] = archive.as_uri()
    probed = []
    monkeypatch.setattr(online, "PETS_URLS", urls)
    monkeypatch.setattr(
        online, "check_online", lambda host, **kwargs: probed.append(host)
    )

    directory = tmp_path / "pets"
    pets = online.load_oxford_pets(directory, image_size=SIZE, download=True)
    assert probed == [online.PETS_HOST]
    assert [path.stem for path in pets.paths] == ["a_1", "b_2", "c_3"]
    np.testing.assert_array_equal(
        pets.masks[2], trimap_pattern("c_3").astype(np.int32) - 1
    )
    assert sorted(path.name for path in directory.iterdir()) == [
        "annotations",
        "images",
    ]
    assert network_attempts == []


# --------------------------------------------------------------------------
# Cats vs dogs
# --------------------------------------------------------------------------


@pytest.fixture
def cats_vs_dogs_dir(tmp_path):
    counts = {"train": 3, "validation": 2, "test": 1}
    for split, count in counts.items():
        for label, animal in enumerate(("cat", "dog")):
            for index in range(count):
                write_jpeg(
                    tmp_path / split / animal / f"{animal}.{index}.jpg",
                    60 + 120 * label,
                )
    return tmp_path


def test_cats_vs_dogs_datasets(cats_vs_dogs_dir):
    datasets = online.load_cats_vs_dogs(cats_vs_dogs_dir, image_size=16, batch_size=4)
    assert list(datasets) == ["train", "validation", "test"]
    for dataset in datasets.values():
        assert dataset.class_names == ["cat", "dog"]
    images, labels = next(iter(datasets["train"]))
    assert tuple(images.shape) == (4, 16, 16, 3) and images.dtype.name == "float32"
    assert tuple(labels.shape) == (4,) and labels.dtype.name == "int32"
    assert 0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 255
    train_labels = np.concatenate([labels.numpy() for _, labels in datasets["train"]])
    assert sorted(train_labels.tolist()) == [0, 0, 0, 1, 1, 1]
    # Validation is not shuffled: cats first, and the same order every time.
    for _ in range(2):
        batches = list(datasets["validation"])
        assert np.concatenate([labels for _, labels in batches]).tolist() == [
            0,
            0,
            1,
            1,
        ]
    red = np.concatenate(
        [images.numpy()[..., 0].mean(axis=(1, 2)) for images, _ in batches]
    )
    np.testing.assert_allclose(
        red, [60, 60, 180, 180], atol=3
    )  # labels match the folders


def test_cats_vs_dogs_returns_only_the_splits_present(cats_vs_dogs_dir):
    for split in ("validation", "test"):
        for path in sorted((cats_vs_dogs_dir / split).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        (cats_vs_dogs_dir / split).rmdir()
    assert list(online.load_cats_vs_dogs(cats_vs_dogs_dir, image_size=8)) == ["train"]


def test_cats_vs_dogs_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        online.load_cats_vs_dogs(tmp_path / "cats_vs_dogs")
    message = str(error.value)
    assert "kaggle.com" in message and "convviz_ref.data.load_shapes" in message
    assert "\n" not in message


# --------------------------------------------------------------------------
# ImageNet Xception
# --------------------------------------------------------------------------


@pytest.fixture
def empty_keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.mark.tries_network
@pytest.mark.parametrize("include_top", [True, False])
def test_xception_imagenet_offline_fails_fast(
    empty_keras_home, network_attempts, include_top
):
    start = time.perf_counter()
    with pytest.raises(online.OfflineError) as error:
        online.load_imagenet_xception(include_top=include_top)
    assert time.perf_counter() - start < 10
    message = str(error.value)
    assert online.XCEPTION_HOST in message and "\n" not in message
    assert 'convviz_ref.models.load_pretrained("xception_like")' in message
    assert network_attempts == [online.XCEPTION_HOST]
    assert not (empty_keras_home / "models").exists()


def test_xception_imagenet_uses_the_cached_file(
    empty_keras_home, monkeypatch, network_attempts
):
    cached = (
        empty_keras_home
        / "models"
        / "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )
    cached.parent.mkdir()
    cached.write_bytes(b"stands for the cached weights")
    calls = []
    monkeypatch.setattr(
        keras.applications, "Xception", lambda **kwargs: calls.append(kwargs)
    )
    online.load_imagenet_xception(include_top=False)
    assert calls == [{"weights": str(cached), "include_top": False}]
    assert network_attempts == []


def test_xception_loads_a_weights_file_without_network(tmp_path, network_attempts):
    """The one test that builds Xception (22.9 M parameters; a few seconds)."""
    path = tmp_path / "xception.weights.h5"
    saved = keras.applications.Xception(weights=None)
    with (
        warnings.catch_warnings()
    ):  # Keras 3.15's save_weights under NumPy 2.4, not ours
        warnings.filterwarnings(
            "ignore", "__array__ implementation", DeprecationWarning
        )
        saved.save_weights(path)
    model = online.load_imagenet_xception(weights=path)
    assert model.output_shape == (None, 1000)
    for name in (
        "block1_conv1",
        "predictions",
    ):  # random init differs: equal means loaded
        np.testing.assert_array_equal(
            model.get_layer(name).get_weights()[0],
            saved.get_layer(name).get_weights()[0],
        )
    assert network_attempts == []


def test_xception_missing_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="xception_like"):
        online.load_imagenet_xception(weights=tmp_path / "missing.weights.h5")


# --------------------------------------------------------------------------
# check_online
# --------------------------------------------------------------------------


@pytest.mark.tries_network
def test_check_online_raises_offline_error(network_attempts):
    with pytest.raises(ConnectionError) as error:  # OfflineError is a ConnectionError
        online.check_online("example.com", timeout=1.0, instead="something local")
    assert type(error.value) is online.OfflineError
    message = str(error.value)
    assert message.startswith("cannot reach example.com:443 (")
    assert (
        message.endswith("; offline, use something local instead")
        and "\n" not in message
    )
    assert network_attempts == ["example.com"]


def test_check_online_passes_when_the_host_answers():
    with socket.create_server(("127.0.0.1", 0)) as server:
        online.check_online("127.0.0.1", port=server.getsockname()[1], timeout=2.0)


@pytest.mark.tries_network
def test_check_online_probes_the_https_proxy(monkeypatch, network_attempts):
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    with pytest.raises(online.OfflineError, match="via proxy proxy.invalid:3128"):
        online.check_online("example.com", timeout=1.0)
    assert network_attempts == ["proxy.invalid"]


def test_check_online_gives_up_after_the_timeout(monkeypatch):
    """A name lookup that never answers (create_connection's timeout misses it)."""
    release = threading.Event()

    def never_answers(*args, **kwargs):
        release.wait(30)
        return io.BytesIO()  # something to close()

    monkeypatch.setattr(socket, "create_connection", never_answers)
    start = time.perf_counter()
    try:
        with pytest.raises(online.OfflineError, match=r"no answer in 0\.2 s"):
            online.check_online("example.com", timeout=0.2)
    finally:
        release.set()
    assert time.perf_counter() - start < 2
