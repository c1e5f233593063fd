"""Folders that tools write as one data set, recognised before a folder is walked.

- A Delta Lake table (``_delta_log/``): its current snapshot (:mod:`._delta`).
- A Hugging Face ``Dataset.save_to_disk`` folder (``state.json`` + ``dataset_info.json``):
  the Arrow stream files ``state.json`` lists, in its order; the two JSON files are
  metadata, never data.  The files' schema carries the features (ClassLabel names) in
  its ``huggingface`` metadata, read like any Arrow file's.
- A ``DatasetDict.save_to_disk`` folder (``dataset_dict.json``, one folder per split): an
  error that names the splits, since which split holds the training labels is the
  user's choice.

Such a folder found inside a folder being walked is an error saying to pass it itself:
walking into it would read removed Delta files or JSON metadata as data.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ._common import quoted

if TYPE_CHECKING:
    from ._paths import Found

#: The transaction log folder of a Delta Lake table (read by ._delta).
DELTA_LOG = "_delta_log"
HF_STATE = "state.json"
HF_INFO = "dataset_info.json"
HF_DICT = "dataset_dict.json"


def _kind(path: str) -> str | None:
    if os.path.isdir(os.path.join(path, DELTA_LOG)):
        return "a Delta Lake table"
    if os.path.isfile(os.path.join(path, HF_DICT)):
        return "a Hugging Face DatasetDict"
    if os.path.isfile(os.path.join(path, HF_STATE)) and os.path.isfile(os.path.join(path, HF_INFO)):
        return "a Hugging Face dataset"
    return None


def folder_files(path: str) -> list[Found] | None:
    """The files of the data set a tool wrote in ``path``, or None for a plain folder."""
    kind = _kind(path)
    if kind is None:
        return None
    if kind == "a Delta Lake table":
        from ._delta import delta_files  # with the dataclasses of Delta tables: lazily

        return delta_files(path)
    if kind == "a Hugging Face DatasetDict":
        raise DataError(_dataset_dict_message(path))
    return _hf_dataset_files(path)


def refuse_nested(folder: str, top: str) -> None:
    """An error if ``folder``, met while walking ``top``, is a data set of its own."""
    if folder == top:
        return
    kind = _kind(folder)
    if kind is not None:
        raise DataError(
            f"{quoted(top)} holds {kind} in {quoted(folder)}; pass that folder itself, "
            "so that it is read as one data set"
        )


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise DataError(f"cannot read {what} {quoted(path)}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{what} {quoted(path)} is not valid JSON: {exc}") from None


def _dataset_dict_message(path: str) -> str:
    data = _read_json(os.path.join(path, HF_DICT), "the DatasetDict index")
    splits = data.get("splits") if isinstance(data, dict) else None
    if not isinstance(splits, list) or not splits:
        splits = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    names = [str(s) for s in splits]
    example = "train" if "train" in names else (names[0] if names else "SPLIT")
    shown = ", ".join(quoted(n) for n in names[:20]) + (" ..." if len(names) > 20 else "")
    return (
        f"{quoted(path)} is a Hugging Face DatasetDict with the splits {shown}; pick the split "
        f"that holds the training labels by passing its folder, for example "
        f"{quoted(os.path.join(path, example))}"
    )


def _hf_dataset_files(path: str) -> list[Found]:
    from ._paths import Found

    state = _read_json(os.path.join(path, HF_STATE), "the Hugging Face dataset state")
    files = state.get("_data_files") if isinstance(state, dict) else None
    names = [f.get("filename") for f in files or [] if isinstance(f, dict)]
    listed = [n for n in names if isinstance(n, str) and n]
    if not files or len(listed) != len(files):
        raise DataError(
            f"{quoted(os.path.join(path, HF_STATE))} lists no data files (_data_files); "
            "save the dataset again with save_to_disk"
        )
    found = []
    for name in listed:
        file = os.path.join(path, name)
        if os.path.dirname(os.path.normpath(name)) or not os.path.isfile(file):
            raise DataError(
                f"the Hugging Face dataset {quoted(path)} lists the file {quoted(name)}, which "
                "is not in its folder; copy the whole folder again"
            )
        found.append(Found(file))
    return found
