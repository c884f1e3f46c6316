"""One source of truth for command-line options: dataclass fields that generate absl flags.

Every CLI of the project keeps its options in one dataclass (``inference.plan.Options`` for
test.py, ``training.config.TrainConfig`` for train.py, ...). Each field is declared with
:func:`option`, which carries the flag's help text; :func:`define_flags` turns the fields
into absl flags of the same names, types and defaults, and :func:`from_flags` builds the
dataclass back from the parsed flags. Defaults and checks therefore live once, in the
dataclass; the library uses the dataclass directly, with no flags.

    @dataclasses.dataclass(frozen=True)
    class Options:
        view_num: int = option(5, "Views per depth map.")
        dataset: str = option("dtu", flag=False)      # set by the CLI, not a flag of its own

    define_flags(Options)                  # --view_num (int, default 5)
    opts = from_flags(Options, FLAGS, dataset="eth3d")
"""

import dataclasses
import typing

from absl import flags

# flags defined here belong to the module that calls define_flags (absl walks past this one)
flags.disclaim_key_flags()

_DEFINE = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
           str: flags.DEFINE_string}


def option(default, help=None, flag=True, choices=None):  # noqa: A002  (absl's own parameter name)
    """A dataclass field with its flag's help text.

    Args:
        default: the default value (the original's, where the original has the flag).
        help: the flag's help text (required when ``flag`` is True).
        flag: False for a field that no flag sets directly (the CLI fills it in).
        choices: the allowed values of a str option (an absl enum flag).
    """
    if flag and not help:
        raise ValueError("an option with a flag needs a help text")
    return dataclasses.field(default=default, metadata={"help": help, "flag": flag, "choices": choices})


def _flag_type(field):
    kind = field.type
    if isinstance(kind, str):  # postponed annotations
        kind = {"int": int, "float": float, "bool": bool, "str": str}.get(kind, kind)
    if typing.get_origin(kind) is typing.Union:  # Optional[int]
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if kind not in _DEFINE:
        raise TypeError("option %s: no absl flag type for %r" % (field.name, field.type))
    return kind


def flag_fields(config_cls, only=None):
    """The fields of ``config_cls`` that are flags, in declaration order (``only``: just the
    fields of these names, for a CLI that takes part of the options)."""
    fields = [f for f in dataclasses.fields(config_cls) if f.metadata.get("flag", False)]
    if only is not None:
        unknown = set(only) - {f.name for f in fields}
        if unknown:
            raise ValueError("%s has no flag field %s" % (config_cls.__name__, ", ".join(sorted(unknown))))
        fields = [f for f in fields if f.name in only]
    return fields


def define_flags(config_cls, flag_values=flags.FLAGS, only=None):
    """Define one absl flag per flag field of ``config_cls`` (``only``: of these names): same
    name, type, default, help.

    The flags belong to the calling module (the CLI), so that its ``--help`` lists them."""
    for field in flag_fields(config_cls, only):
        if field.metadata.get("choices"):
            flags.DEFINE_enum(field.name, field.default, field.metadata["choices"],
                              field.metadata["help"], flag_values=flag_values)
            continue
        _DEFINE[_flag_type(field)](field.name, field.default, field.metadata["help"],
                                   flag_values=flag_values)


def from_flags(config_cls, flag_values=flags.FLAGS, only=None, **fields):
    """``config_cls`` built from the parsed flags (``only``: the flags of these names, the
    other fields keep their defaults; plus ``fields`` for the non-flag fields)."""
    values = {f.name: getattr(flag_values, f.name) for f in flag_fields(config_cls, only)}
    values.update(fields)
    return config_cls(**values)
