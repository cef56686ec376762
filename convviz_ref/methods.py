"""The registry of attribution methods: the one list of them, without TensorFlow.

Each entry of :data:`METHODS` says what a method is (title, family,
resolution, cost), where its function lives, how its raw attributions become
a map, which of its keyword arguments ``convviz explain`` offers as options,
and whether ``convviz benchmark`` times it against the passes it is made of.
Everything that lists methods reads it: :func:`convviz_ref.attribution.explain`,
the ``convviz explain`` options and help, the leaderboard
(:mod:`convviz_ref.compare`), the shortcut check and the benchmark. This
module imports no TensorFlow, so ``convviz --help`` stays instant.

Adding a method: write its function (same arguments as the others:
``(model, images, class_index=None, *, score="logit", ...)``, plus
``layer_name`` for a CAM method; it returns raw attributions), add its entry
here, and test it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

SCORES = ("output", "logit")
"""The scores a method can explain: the model's output, or the last layer's logit."""

FAMILIES = ("cam", "pixel", "perturbation")
"""CAM methods weigh a layer's channels; pixel methods differentiate the score
with respect to the pixels; perturbation changes the image and watches the score."""


class Option(NamedTuple):
    """A keyword argument of a method that ``convviz explain`` offers as ``--NAME N``.

    Attributes:
        name: the keyword argument (and the option, ``--name``).
        help: what it is, for ``--help``.
        type: the function that turns the option's text into the value.
    """

    name: str
    help: str
    type: Callable = int


class Method(NamedTuple):
    """One entry of :data:`METHODS`.

    Attributes:
        function: the method's function, which returns raw attributions:
            ``"module:name"`` (imported when first used) or the function.
        to_map: the name of the function of :mod:`convviz_ref.maps` that
            turns the raw attributions into a map ``>= 0`` before
            normalizing.
        family: one of :data:`FAMILIES`; a CAM method takes ``layer_name``
            and gives maps at the layer's grid (:attr:`needs_layer`,
            :attr:`resolution`).
        passes: the method's cost per image, in forward / backward passes.
        title: the name to print.
        options: keyword arguments :func:`~convviz_ref.attribution.explain`
            gives the function unless the caller gives them.
        cli_options: the :class:`Option` s of ``convviz explain``.
        many_passes: whether ``convviz benchmark`` times it against one
            batched pass over as many images as it passes through the model.
    """

    function: str | Callable
    to_map: str
    family: str
    passes: str
    title: str
    options: Mapping = MappingProxyType({})
    cli_options: tuple = ()
    many_passes: bool = False

    @property
    def needs_layer(self):
        """Whether the method takes ``layer_name``: a CAM method does."""
        return self.family == "cam"

    @property
    def resolution(self):
        """``"layer"`` (the layer's grid, a CAM method) or ``"image"`` (pixels)."""
        return "layer" if self.needs_layer else "image"


COMPLETENESS_TOLERANCE = 0.01
"""The completeness gap :func:`~convviz_ref.attribution.explain` accepts from
Integrated Gradients (1 %): each image's steps double until its gap is within it."""

_ATTRIBUTION = "convviz_ref.attribution"

METHODS = {
    "gradcam": Method(
        function="convviz_ref.gradcam:gradcam",
        to_map="positive_part",
        family="cam",
        passes="1 forward + 1 backward",
        title="Grad-CAM",
    ),
    "gradcam_plus_plus": Method(
        function=f"{_ATTRIBUTION}:gradcam_plus_plus",
        to_map="positive_part",
        family="cam",
        passes="1 forward + 1 backward",
        title="Grad-CAM++",
    ),
    "score_cam": Method(
        function=f"{_ATTRIBUTION}:score_cam",
        to_map="positive_part",
        family="cam",
        passes="1 + channels forward",
        title="Score-CAM",
        many_passes=True,
    ),
    "layer_cam": Method(
        function=f"{_ATTRIBUTION}:layer_cam",
        to_map="positive_part",
        family="cam",
        passes="1 forward + 1 backward",
        title="Layer-CAM",
    ),
    "saliency": Method(
        function=f"{_ATTRIBUTION}:saliency",
        to_map="max_abs_over_channels",
        family="pixel",
        passes="1 forward + 1 backward",
        title="Gradient saliency",
    ),
    "smoothgrad": Method(
        function=f"{_ATTRIBUTION}:smoothgrad",
        to_map="max_abs_over_channels",
        family="pixel",
        passes="samples forward + backward",
        title="SmoothGrad",
        cli_options=(Option("samples", "SmoothGrad's noisy copies"),),
        many_passes=True,
    ),
    "integrated_gradients": Method(
        function=f"{_ATTRIBUTION}:integrated_gradients",
        to_map="abs_sum_over_channels",
        family="pixel",
        passes="steps + 1 forward + backward (32 steps, doubled until within 1 %)",
        title="Integrated Gradients",
        options=MappingProxyType({"tolerance": COMPLETENESS_TOLERANCE}),
        cli_options=(
            Option(
                "steps",
                "Integrated Gradients' first intervals, "
                "doubled per image until within 1 %",
            ),
        ),
        many_passes=True,
    ),
    "guided_backprop": Method(
        function=f"{_ATTRIBUTION}:guided_backprop",
        to_map="max_abs_over_channels",
        family="pixel",
        passes="1 forward + 1 backward",
        title="Guided Backprop",
    ),
    "occlusion": Method(
        function=f"{_ATTRIBUTION}:occlusion",
        to_map="positive_part",
        family="perturbation",
        passes="1 + patches forward",
        title="Occlusion",
        cli_options=(
            Option("patch", "occlusion's patch side in pixels"),
            Option("stride", "occlusion's step in pixels"),
        ),
        many_passes=True,
    ),
}
"""Every attribution method of the course, by name: the only list of them."""


def get_method(method):
    """The :class:`Method` called ``method``; a ValueError lists the valid names."""
    try:
        return METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown method {method!r}; choose one of: {', '.join(METHODS)}"
        ) from None


def method_function(method):
    """The function of method ``method`` (its entry's ``function``, imported)."""
    function = get_method(method).function
    if callable(function):
        return function
    module, name = function.split(":")
    return getattr(importlib.import_module(module), name)


def cli_options():
    """Every method's :class:`Option` s, each name once, in the order of the methods.

    Returns:
        dict, option name to ``(help texts, type)``: one help per method
        that takes the option.
    """
    options = {}
    for entry in METHODS.values():
        for option in entry.cli_options:
            helps, _ = options.setdefault(option.name, ([], option.type))
            helps.append(option.help)
    return options
