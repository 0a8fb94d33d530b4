"""Runs one program as __main__ and, for a checked one, then its tests from text it never saw.

Imported, never run, by the warm parent (warm_parent.py), whose child for each program calls
`run_checked(PROGRAM, MODULES)` (or `run_plain(PROGRAM)`) once it is the program's uid. The child
holds the nonce pipe and the result pipe at two numbers at or above FD_FLOOR, the program's
RLIMIT_NOFILE: nothing the program opens, duplicates or receives can land there, so after the
program this file finds them by number alone (`_pipes_finder`) and no Python object holds those numbers
while it runs. The nonce pipe holds the nonce, then the entry point's name and the test text;
nothing reads it until the program has finished, so while the program runs no Python object holds
the tests.

Why each step (each names an attack it stops):
- An audit hook goes in first. Trace/profile hooks (they can skip an assert's line or rewrite a
  frame's locals), code-object swaps (`check.__code__ = ...`), gc's referent walks (the real dict
  behind a builtin type), ctypes' memory access and new audit hooks are tampering wherever they
  happen; frame grabs (sys._getframe, tb_frame, gi_frame) are tampering once the tests run (the
  standard library takes frames while importing typing or making an Enum, so not before).
  Tampering drains the nonce pipe and closes the pipes: the run cannot pass any more.
- The modules the tests import are imported before the program, their namespaces and the builtins
  snapshotted as tuples; after the program, a changed builtin or a patched/replaced test module
  (`math.isclose = ...`, `sys.modules["math"] = ...`) fails the run, and builtins are put back.
- The tests are compiled by this file after the program ended, into a fresh namespace with a
  private copy of the builtins, and run in a thread of their own: a signal handler of the program's
  (Python runs those in the main thread) never receives a test frame. HumanEval's `check` gets the
  entry point looked up in the program's namespace; MBPP's asserts see the program's names.
- Before the tests, in their thread, a canary -- an assert of random numbers that must fail --
  runs; if it does not raise AssertionError, assertions were disarmed some way not listed here.
- Everything used after the program is bound to locals before it (not module globals, which a
  frame grab can rebind); the nonce goes on only when the tests returned and nothing changed.

Left to the program (a limit of test-based checking, not of this file): whatever its functions and
the objects they return do when the tests call them (`__eq__` that is always True), short of the
primitives above.
"""
import sys

FD_FLOOR, FD_SPAN = 64, 192  # the pipes' numbers: in [FD_FLOOR, FD_FLOOR + FD_SPAN); FD_FLOOR is RLIMIT_NOFILE


def _pipes_finder(os):
    """A function giving the open descriptors at or above FD_FLOOR (the nonce pipe below the result
    pipe), made of functions bound now: the program may rebind os.fstat or builtins.range."""
    fstat, floor, end = os.fstat, FD_FLOOR, FD_FLOOR + FD_SPAN

    def pipes():
        found, fd = [], floor
        while fd < end:
            try:
                fstat(fd)
                found.append(fd)
            except OSError:
                pass
            fd += 1
        return found
    return pipes


def arm():
    """Installs the tamper hook; only the interpreter holds it (no name, frame or global does)."""
    import os
    always = frozenset(("sys.settrace", "sys.setprofile", "sys._settraceallthreads", "sys._setprofileallthreads",
                        "sys.monitoring.register_callback", "sys.addaudithook", "gc.get_referrers",
                        "gc.get_referents", "gc.get_objects", "sys._current_frames", "sys._current_exceptions",
                        "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function", "ctypes.cdata",
                        "ctypes.cdata/buffer", "ctypes.addressof", "ctypes.string_at", "ctypes.wstring_at"))
    frames = frozenset(("sys._getframe", "sys._getframemodulename"))
    frame_attrs = frozenset(("tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"))
    code_attrs = frozenset(("__code__", "__defaults__", "__kwdefaults__"))
    state = [sys.version_info >= (3, 13), False, None]  # [frames are tampering, tampered, thread walking the stack]
    read, write, closerange, pipes = os.read, os.write, os.closerange, _pipes_finder(os)
    importing = _stdlib_import_check(os)

    def tampered(event):
        state[1] = True
        try:
            nonce_fd, result_fd = pipes()
            while read(nonce_fd, 1 << 16):
                pass
            write(result_fd, ("tampered: " + event).encode()[:200])
        except (OSError, ValueError):
            pass
        closerange(3, 1 << 16)

    def hook(event, args):
        if state[1]:
            return
        if event in always:
            tampered(event)
        elif event == "object.__setattr__" and args[1] in code_attrs:
            tampered("%s of %s" % (args[1], type(args[0]).__name__))
        elif state[0] and (event in frames or event == "object.__getattr__" and args[1] in frame_attrs):
            if state[2] is None and not importing(state):
                tampered(event if event in frames else args[1])
        elif event == "swe-monkeys.tests":
            state[0] = True

    sys.addaudithook(hook)


def _stdlib_import_check(os):
    """A test of "the import system is loading a standard-library module": the standard library
    takes frames while importing (re -> enum), and a program may import re lazily inside its
    function. Trust is by identity (importlib's own `_load_unlocked`, the loader's exact class)
    and by a real path under the root-owned standard library, never by a name the code claims."""
    import _frozen_importlib as boot, _frozen_importlib_external as external
    from _thread import get_ident
    load_code, getframe, realpath = boot._load_unlocked.__code__, sys._getframe, os.path.realpath
    stdlib = realpath(os.path.dirname(os.__file__)) + "/"
    file_loaders = (external.SourceFileLoader, external.ExtensionFileLoader)
    interpreter_loaders, spec_type = (boot.BuiltinImporter, boot.FrozenImporter), boot.ModuleSpec

    def importing(state):
        state[2] = get_ident()
        try:
            frame = getframe(2)
            while frame is not None and frame.f_code is not load_code:
                frame = frame.f_back
            spec = frame.f_locals.get("spec") if frame is not None else None
            if type(spec) is not spec_type:  # a subclass's properties would be the program's code
                return False
            loader = vars(spec).get("loader")
            if loader in interpreter_loaders:
                return True
            return type(loader) in file_loaders and realpath(loader.path).startswith(stdlib)
        finally:
            state[2] = None
    return importing


def _test_modules(names):
    """The modules the tests import, imported now and snapshotted: [(name, module, items)]."""
    out = []
    for name in filter(None, names.split(",")):
        try:
            module = __import__(name)
        except ImportError:
            continue
        out.append((name, module, tuple(vars(module).items())))
    return out


def _as_main(path):
    """A fresh `__main__` module for the program at path (argv as `python3 PATH` gives it)."""
    sys.argv[:] = [path]
    if hasattr(sys, "orig_argv"):
        sys.orig_argv[:] = [sys.executable, path]
    module = type(sys)("__main__")
    module.__file__ = path
    sys.modules["__main__"] = module
    with open(path) as f:
        return module, compile(f.read(), path, "exec")


def run_plain(path):
    """An unchecked program (judged by its output): run as `python3 PATH` would."""
    module, code = _as_main(path)
    exec(code, vars(module))


def run_checked(path, module_names):
    """A checked program, then its tests (the module docstring); the nonce goes on only if they passed."""
    import builtins, os, _thread
    arm()
    pristine = tuple(vars(builtins).items())
    snapshots = _test_modules(module_names)
    b_dict, modules, audit, gettrace, getprofile = vars(builtins), sys.modules, sys.audit, sys.gettrace, sys.getprofile
    excepthook, listdir, read, write, pipes = sys.__excepthook__, os.listdir, os.read, os.write, _pipes_finder(os)
    dict_, set_, vars_, len_, all_, compile_, exec_, type_ = dict, set, vars, len, all, compile, exec, type
    new_lock, start, BaseException_, SystemExit_ = _thread.allocate_lock, _thread.start_new_thread, BaseException, SystemExit
    AssertionError_, urandom = AssertionError, os.urandom

    module, program = _as_main(path)
    exec_(program, vars_(module))

    def fail(why):
        write(2, ("\nswe-monkeys: %s\n" % why).encode())
        raise SystemExit_(1)

    def intact():
        return all_(modules.get(name) is mod and len_(vars_(mod)) == len_(items)
                    and all_(vars_(mod).get(k, vars_) is v for k, v in items) for name, mod, items in snapshots)

    audit("swe-monkeys.tests")  # from here on a frame grab is tampering
    original = dict_(pristine)
    changed = [k for k in set_(b_dict) | set_(original) if b_dict.get(k, b_dict) is not original.get(k, original)]
    b_dict.clear()
    b_dict.update(pristine)
    if changed:
        fail("the program changed builtins: " + ", ".join(sorted(changed))[:200])
    found = pipes()
    if len_(found) != 2:
        fail("the program closed its pipes")
    nonce_fd, result_fd = found
    data = chunk = read(nonce_fd, 1 << 16)
    while chunk:
        chunk = read(nonce_fd, 1 << 16)
        data += chunk
    if len_(data) < 33:
        fail("the tests were taken before they ran")
    nonce, (entry_point, tests) = data[:32], data[32:].decode().split("\n", 1)
    if gettrace() is not None or getprofile() is not None:
        fail("a trace or profile function was set")
    if not intact():
        fail("the program changed a module its tests use")
    if tests.strip():
        if len_(listdir("/proc/self/task")) != 1:
            fail("threads of the program were still running when its tests began")
        outcome, lock = [], new_lock()
        namespace = {} if entry_point else {k: v for k, v in vars_(module).items() if not k.startswith("__")}
        namespace.update(__builtins__=dict_(pristine), __name__="__main__")
        code = compile_(tests, "<tests>", "exec")
        a, b = urandom(2)
        canary = compile_("assert %d + %d == %d" % (a, b, a + b + 1), "<tests>", "exec")

        def run_tests():
            try:
                try:  # a canary: an assert that must fail where the tests run, or they are disarmed
                    exec_(canary, {"__builtins__": dict_(pristine)})
                    outcome.append(False)
                    return
                except AssertionError_:
                    pass
                exec_(code, namespace)
                if entry_point:  # tests that name the entry point (HumanEval/33) mean the program's
                    namespace[entry_point] = vars_(module)[entry_point]
                    namespace["check"](namespace[entry_point])
                outcome.append(True)
            except BaseException_ as exc:  # the program's exceptions and exits all mean "not passed"
                excepthook(type_(exc), exc, exc.__traceback__)
            finally:
                lock.release()

        lock.acquire()
        start(run_tests, ())
        lock.acquire()
        if outcome == [False]:
            fail("an assert that must fail passed where the tests run: they were disarmed")
        if not outcome:
            raise SystemExit_(1)
        if not intact() or gettrace() is not None or getprofile() is not None:
            fail("a module its tests use, or the trace/profile functions, changed while they ran")
    write(result_fd, nonce)
