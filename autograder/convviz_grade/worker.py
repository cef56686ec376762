"""The only place student code runs during grading: a separate, sandboxed process.

``convviz-grade autograde`` copies this file into a private work folder and runs
it there (inside bubblewrap where available: no network, the course folder,
solutions and gradebook hidden, memory and time limited). It must therefore
import nothing from the course: only the standard library, NumPy and, when a
case needs it, Keras. Before any student code runs it makes ``convviz_ref``
and ``convviz_grade`` unimportable (:func:`refuse_course_modules`), so that
wrapping the reference function fails even without the sandbox.

Protocol (all files in the work folder):

* ``student.json``: ``{"prelude": source, "cells": [source, ...]}``: the
  assignment's imports (run first, as the notebook's setup cell would), then
  the submission's solution cells in notebook order;
* ``task.json``: ``{"cases": [{"id", "function", "kind", "seed", "repeat",
  "repeat_into", "keep_inputs", "args", "kwargs"}]}`` (see :func:`call_case`);
  each argument is ``{"array": name}`` (an entry of ``inputs.npz``; with
  ``"tensor": true`` it is passed as a TensorFlow constant),
  ``{"model": file}`` (a ``.keras`` file of the work folder) or
  ``{"value": json}``;
* ``skip.json`` (optional): ``{"cases": [...], "cells": [...]}``, case ids
  and solution cell numbers not to run again (they hung or crashed before).

Output: ``results.jsonl``, written as it goes: a ``loading`` line before each
cell and a ``started`` line before each case, then one line per finished case
(so the grader knows which cell or case was running when a hang or a crash
cut the process short), and ``outputs/<id>.npy`` for each case that returned
an array, and for a ``keep_inputs`` case ``outputs/<id>.arg<position>.npy``,
each array argument as it is after the call. The grader reads these as data:
numbers only, never pickles, never objects.

Case kinds:

* ``call``: ``function(*args, **kwargs)`` (``repeat`` times, each on the
  previous result); the result must be array-like;
* ``block``: ``args = [input array, filters]``: the function is applied to
  ``keras.Input`` of the array's shape, the model is given weights that depend
  only on each layer's kernel shape and the case's ``seed``
  (:func:`set_weights_by_shape`, the grader gives the reference block the
  same), and the outputs on the array are returned, with the parameter count
  as ``<id>.params``;
* ``probe``: the grader's probe ``"module:function"`` (a file of the
  ``probes/`` folder beside this one, loaded before any student code runs)
  is called as ``probe(function, args, kwargs, **probe_kwargs)``: it builds,
  trains or runs what the student's function makes and returns a dict of
  arrays, ``"value"`` among them; ``<id>.npy`` holds ``"value"`` and
  ``<id>.probe.<name>.npy`` each other entry. A probe measures; the grader
  judges, outside this process. A case's ``probe_kwargs`` are encoded like
  its ``kwargs``.
"""

import importlib.abc
import importlib.util
import json
import os
import sys
import time
import traceback

MAX_MESSAGE = 300  # characters of an error message kept for the report
# The reference answers and the grader: student code may not import them, sandbox or
# not. The same names as convviz_grade.locations.PROTECTED_PACKAGES: this file imports
# nothing from the course.
PROTECTED_PACKAGES = ("convviz_ref", "convviz_grade")


class RefuseCourseModules(importlib.abc.MetaPathFinder):
    """An import finder, first on ``sys.meta_path``, refusing the course's packages.

    Under bubblewrap their folders are hidden anyway; this makes
    ``from convviz_ref.gradcam import gradcam_heatmap`` fail the same way with
    ``--isolation none``, with a message that says why. It stops the plain
    import only: code that reads the files themselves is stopped by the
    sandbox alone.
    """

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in PROTECTED_PACKAGES:
            raise ModuleNotFoundError(
                f"{name} cannot be imported while grading: "
                "the graded functions must be your own code",
                name=name,
            )
        return None


def refuse_course_modules():
    """Install :class:`RefuseCourseModules`; forget any course module imported."""
    for name in list(sys.modules):
        if name.partition(".")[0] in PROTECTED_PACKAGES:
            del sys.modules[name]
    sys.meta_path.insert(0, RefuseCourseModules())


def one_line(text):
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def set_weights_by_shape(model, seed):
    """Give each layer's weights values that depend only on its kernel shape.

    For a layer with weights ``[kernel, bias]`` (or ``[kernel]``), both are
    drawn from a generator seeded with ``(seed, *kernel.shape, index)``; the
    kernel is scaled by ``1 / sqrt(fan_in)``, biases are small. Two layers
    with the same kernel shape get the same values, so a block that creates
    its layers in another order, or names them otherwise, computes the same
    function as the reference when it is right. The notebook's tests and the
    grader share this one function.
    """
    import numpy as np

    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        key = [int(size) for size in weights[0].shape]
        fan_in = int(np.prod(weights[0].shape[:-1]))
        values = []
        for index, weight in enumerate(weights):
            rng = np.random.default_rng([seed, *key, index])
            scale = 1.0 / np.sqrt(fan_in) if index == 0 else 0.1
            values.append(rng.normal(0.0, scale, size=weight.shape).astype(np.float32))
        layer.set_weights(values)
    return model


def run_block(function, array, filters, kwargs, seed=0):
    """Build a one-block model with ``function`` and run it on ``array``.

    The block is ``function(inputs, filters, **kwargs)`` on ``keras.Input`` of
    ``array``'s shape, with :func:`set_weights_by_shape` weights; it is run in one
    eager call in inference mode (``training=False``), as ``predict`` would run it.

    Returns:
        tuple ``(output, parameter count)``: ndarray and int.
    """
    import keras

    inputs = keras.Input(shape=array.shape[1:])
    model = keras.Model(inputs, function(inputs, filters, **kwargs))
    set_weights_by_shape(model, seed)
    output = keras.ops.convert_to_numpy(model(array, training=False))
    return output, model.count_params()


# The grader's probes: the folder beside this file (the grader copies it there).
PROBES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probes")


def load_probe(name):
    """The probe ``"module:function"``, from ``probes/module.py`` beside this file.

    Loaded from the file, not imported: in the sandbox ``convviz_grade`` is
    unimportable, and in the student's kernel the same file is read.

    Raises:
        ValueError: ``name`` is not ``module:function`` of a probe file.
    """
    module_name, _, function_name = name.partition(":")
    if not module_name.isidentifier() or not function_name.isidentifier():
        raise ValueError(f"a probe is named 'module:function', not {name!r}")
    path = os.path.join(PROBES_DIR, f"{module_name}.py")
    key = f"_convviz_probe_{module_name}_{abs(hash(path))}"
    module = sys.modules.get(key)
    if module is None:
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[key] = module
    return getattr(module, function_name)


def call_case(function, case, args, kwargs, probe_kwargs=None, probes=None):
    """Call a graded function as a case asks.

    ``case``: the case's ``kind`` and options, as in ``task.json`` (``seed``
    of a ``block`` case's weights; ``repeat`` and ``repeat_into``: call the
    function ``repeat`` times, each call after the first with the previous
    result, converted to the argument's type, in place of argument
    ``repeat_into``, as an ascent loop does). This worker and the notebook's
    hidden tests (:mod:`convviz_grade.cases`) both call student code through
    this function, so both graders call it the same way. ``probes``: the
    probe functions loaded beforehand, by name (else :func:`load_probe`).

    Returns:
        tuple ``(result, parameter count)``; the count is None except for a
        ``block`` case; a ``probe`` case's result is the probe's dict.
    """
    if case["kind"] == "probe":
        probe = (probes or {}).get(case["probe"]) or load_probe(case["probe"])
        return probe(function, list(args), dict(kwargs), **(probe_kwargs or {})), None
    if case["kind"] == "block":
        return run_block(function, args[0], args[1], kwargs, seed=case.get("seed", 0))
    value = function(*args, **kwargs)
    args = list(args)
    for _ in range(case.get("repeat", 1) - 1):
        position = case["repeat_into"]
        args[position] = _same_type(value, args[position])
        value = function(*args, **kwargs)
    return value, None


def _same_type(value, like):
    """``value`` as the type of ``like``: a TensorFlow tensor or a NumPy array.

    Of ``like``'s dtype.
    """
    import numpy as np

    if (
        hasattr(like, "numpy")
        and hasattr(like, "dtype")
        and not isinstance(like, np.ndarray)
    ):
        import tensorflow as tf

        return tf.convert_to_tensor(value, like.dtype)
    return np.asarray(value, like.dtype)


def _strip_magics(source):
    """Drop IPython magics and shell escapes: the worker runs plain Python."""
    return "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )


def load_student_code(prelude, cells, record, skip_cells=()):
    """Run each solution cell in one namespace; a broken cell loses only its names.

    Returns:
        tuple ``(namespace, problems)``: dict, and a list of str, one per cell that
        raised or was skipped.
    """
    namespace = {"__name__": "submission"}
    exec(compile(prelude, "<prelude>", "exec"), namespace)
    problems = []
    for number, source in enumerate(cells, start=1):
        if number in skip_cells:
            problems.append(
                f"solution cell {number}: skipped, it hung or crashed the process"
            )
            continue
        record(None, "loading", cell=number)
        try:
            exec(
                compile(_strip_magics(source), f"<solution cell {number}>", "exec"),
                namespace,
            )
        except BaseException as error:  # SyntaxError, SystemExit, any: keep going
            problems.append(
                f"solution cell {number}: {type(error).__name__}: {one_line(error)}"
            )
    return namespace, problems


def argument(spec, inputs, folder):
    if "array" in spec:
        if spec.get("tensor"):
            import tensorflow as tf

            return tf.constant(inputs[spec["array"]])
        return inputs[spec["array"]].copy()
    if "model" in spec:
        import keras

        return keras.models.load_model(
            os.path.join(folder, spec["model"]), compile=False
        )
    return spec["value"]


def as_plain_array(value):
    """The result as a plain numeric ndarray, or a reason why it is not one.

    Returns:
        tuple ``(array, None)`` or ``(None, reason)``.
    """
    import numpy as np

    if value is None:
        return None, "returned None (no `return`?)"
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    try:
        # A plain ndarray: subclasses and their methods are dropped.
        array = np.array(value)
    except BaseException as error:
        return None, f"returned something that is not an array ({one_line(error)})"
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        return None, f"returned an array of {array.dtype}, not numbers"
    return array, None


def probe_entries(result):
    """A probe's dict as plain arrays, ``"value"`` among them, or a reason why not.

    Returns:
        tuple ``(dict of ndarray, None)`` or ``(None, reason)``.
    """
    if not isinstance(result, dict) or "value" not in result:
        return None, "the probe returned no dict with a 'value' entry"
    entries = {}
    for name, entry in result.items():
        if not str(name).isidentifier():
            return None, f"probe entry {name!r} is not a plain name"
        array, problem = as_plain_array(entry)
        if problem:
            return None, f"probe entry {name!r}: {problem}"
        entries[str(name)] = array
    return entries, None


def save_probe_entries(result, folder, case_id):
    """Save a probe's entries other than ``"value"``; return its ``"value"``.

    Raises:
        ValueError: the probe's result is not a dict of arrays.
    """
    import numpy as np

    entries, problem = probe_entries(result)
    if problem:
        raise ValueError(problem)
    for name, array in entries.items():
        if name != "value":
            path = os.path.join(folder, "outputs", f"{case_id}.probe.{name}.npy")
            np.save(path, array, allow_pickle=False)
    return entries["value"]


def main(folder):
    import numpy as np

    with open(os.path.join(folder, "student.json")) as file:
        student = json.load(file)
    with open(os.path.join(folder, "task.json")) as file:
        cases = json.load(file)["cases"]
    skip = {"cases": [], "cells": []}
    if os.path.exists(os.path.join(folder, "skip.json")):
        with open(os.path.join(folder, "skip.json")) as file:
            skip.update(json.load(file))
    inputs = np.load(os.path.join(folder, "inputs.npz"), allow_pickle=False)
    os.makedirs(os.path.join(folder, "outputs"), exist_ok=True)
    results = open(os.path.join(folder, "results.jsonl"), "a")
    # Bound before any student code runs: a cell that replaces time.time does not
    # change the stamps from which a case's seconds (and its time limit) are read.
    clock = time.time

    def record(case_id, status, message="", cell=None):
        line = {
            "id": case_id,
            "status": status,
            "message": message,
            "time": clock(),
        }
        if cell is not None:
            line["cell"] = cell
        results.write(json.dumps(line) + "\n")
        results.flush()

    # The grader's probes, before any student code can touch their files.
    probes = {
        case["probe"]: load_probe(case["probe"])
        for case in cases
        if case["kind"] == "probe"
    }
    refuse_course_modules()
    namespace, problems = load_student_code(
        student["prelude"], student["cells"], record, skip["cells"]
    )
    record(None, "loaded")
    for problem in problems:
        record(None, "cell-error", problem)
    for case in cases:
        if case["id"] in skip["cases"]:
            continue
        record(case["id"], "started")
        function = namespace.get(case["function"])
        if not callable(function):
            record(case["id"], "missing", f"no function named {case['function']}")
            continue
        try:
            args = [argument(spec, inputs, folder) for spec in case["args"]]
            kwargs = {
                key: argument(spec, inputs, folder)
                for key, spec in case["kwargs"].items()
            }
            probe_kwargs = {
                key: argument(spec, inputs, folder)
                for key, spec in case.get("probe_kwargs", {}).items()
            }
            value, params = call_case(
                function, case, args, kwargs, probe_kwargs, probes
            )
            if case["kind"] == "probe":
                value = save_probe_entries(value, folder, case["id"])
            if params is not None:
                np.save(
                    os.path.join(folder, "outputs", f"{case['id']}.params.npy"),
                    np.array(params),
                )
            array, problem = as_plain_array(value)
            if case.get("keep_inputs"):
                # Send the arrays back: the grader compares them with its copies.
                for position, (spec, arg) in enumerate(zip(case["args"], args)):
                    if "array" in spec and not spec.get("tensor"):
                        after, _ = as_plain_array(arg)
                        after = np.zeros(0) if after is None else after
                        np.save(
                            os.path.join(
                                folder, "outputs", f"{case['id']}.arg{position}.npy"
                            ),
                            after,
                            allow_pickle=False,
                        )
        except BaseException as error:  # the student's exception, SystemExit included
            record(case["id"], "error", f"{type(error).__name__}: {one_line(error)}")
            continue
        if problem:
            record(case["id"], "malformed", problem)
            continue
        np.save(
            os.path.join(folder, "outputs", f"{case['id']}.npy"),
            array,
            allow_pickle=False,
        )
        record(case["id"], "ok")
    record(None, "finished")
    results.close()
    return 0


def run_main(folder):
    """:func:`main`, its failures printed; the exit status."""
    try:
        return main(folder)
    except BaseException:
        traceback.print_exc(limit=3)
        return 3


# ------------------------------------------------------------------ fork server


def _thread_count():
    return len(os.listdir("/proc/self/task"))


def _not_dumpable():
    """Make this process unreadable to its children (no ptrace, /proc/<pid>/mem)."""
    import ctypes

    PR_SET_DUMPABLE = 4
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _child(request):
    """In the forked child: its own session, limits and files, then :func:`main`.

    Never returns: the child exits with :func:`run_main`'s status.
    """
    import resource

    status = 3
    try:
        os.setsid()  # its own process group: the server kills the whole group
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)  # the server's pipe to the grader is gone from this process
        os.dup2(log, 2)
        os.closerange(3, 65536)
        memory = request["memory_bytes"]
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(
            resource.RLIMIT_FSIZE, (request["file_limit"], request["file_limit"])
        )
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        folder = request["folder"]
        os.chdir(folder)
        for name in ("HOME", "MPLCONFIGDIR", "TMPDIR"):
            os.environ[name] = folder
        sys.argv = ["worker.py", folder]
        status = run_main(folder)
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status)


def _wait(pid, timeout):
    """Wait for the child ``pid`` at most ``timeout`` seconds; kill its group then.

    Returns:
        int, its exit code or minus the signal that killed it; None when it was
        cut at ``timeout``.
    """
    import select
    import signal

    handle = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([handle], [], [], timeout)
    finally:
        os.close(handle)
    if not ready:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    if not ready:
        return None
    return os.waitstatus_to_exitcode(status)


def _kill_everything_else():
    """Kill and reap every other process of this PID namespace.

    Only inside the sandbox's own PID namespace, where the server is PID 1
    (``bwrap --as-pid-1``): what a child left behind (a daemon that escaped
    its process group) is re-parented to the server, and dies before the
    next child starts.
    """
    import signal

    deadline = time.monotonic() + 10  # a killed process takes a moment to exit
    while time.monotonic() < deadline:
        others = [
            int(name)
            for name in os.listdir("/proc")
            if name.isdigit() and int(name) != os.getpid()
        ]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        while True:  # reap them: as PID 1 the server is every orphan's parent
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        time.sleep(0.005)
    raise RuntimeError("processes left by a child would not die")


def serve(own_pid_namespace):
    """A fork server: import the libraries once, then fork one child per run.

    Reads JSON lines on standard input. The first is ``{"prelude", "preload"}``:
    the assignment's imports are run, and the modules of ``preload`` imported
    (Keras and TensorFlow when a case needs them), before any thread pool
    exists; the server answers ``{"ready": true, "threads": n}``. Each later
    line asks for one run, ``{"folder", "log", "timeout", "memory_bytes",
    "file_limit"}``: a child is forked, gets its own session, limits and
    standard streams (the server's pipes closed), and runs :func:`main` on
    ``folder``. The server cuts it at ``timeout`` (its whole process group,
    and with ``own_pid_namespace`` every other process left in the
    sandbox), then answers ``{"returncode": code or null, "seconds": s}``.
    Nothing a child does reaches the server or the next child: the child's
    memory is its own copy; the server is not dumpable (no ptrace, no
    ``/proc/<pid>/mem``) and, in the sandbox, it is the namespace's PID 1,
    which the kernel does not let a child kill; the grader empties the work
    folder between runs.
    """
    import importlib

    config = json.loads(sys.stdin.readline())
    exec(compile(config["prelude"], "<prelude>", "exec"), {"__name__": "preload"})
    for name in config["preload"]:
        importlib.import_module(name)
    threads = _thread_count()
    if threads != 1:
        # fork() copies only the calling thread: a lock another thread holds would
        # stay locked in the child. Refuse rather than risk it; the grader falls
        # back to a process per run.
        print(json.dumps({"ready": False, "threads": threads}), flush=True)
        return 4
    _not_dumpable()
    print(json.dumps({"ready": True, "threads": threads}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            _child(request)
        returncode = _wait(pid, request["timeout"])
        if own_pid_namespace:
            _kill_everything_else()
        print(
            json.dumps(
                {"returncode": returncode, "seconds": time.perf_counter() - start}
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        sys.exit(serve(own_pid_namespace=sys.argv[2] == "pid-namespace"))
    sys.exit(run_main(sys.argv[1]))
