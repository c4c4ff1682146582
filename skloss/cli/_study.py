"""The Optuna study of ``skloss tune``: its storage, a fresh or resumed study, its settings.

A run starts a fresh study unless it is asked to resume one (``--resume``) or names
one (``--study``, how worker processes share a study). The settings that define
the trials (data, noise, split, folds, epochs, losses, seed) are stored with the
study as a user attribute, and a run whose settings differ is refused instead of
mixing its trials with the study's.
"""

from pathlib import Path

#: The user attribute that holds a study's settings.
SETTINGS_ATTR = "skloss_settings"
FRESH_NAME = "skloss-tune"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def storage_spec(args):
    """The storage of the study as text: a URL, or ``journal:PATH``.

    ``--storage`` takes a database URL (anything with ``://``), ``journal:PATH``,
    or a plain path, which is read as a journal file; without it the journal
    file is ``study.log`` in ``--output``.
    """
    spec = args.storage
    if spec is None:
        return f"journal:{args.output / 'study.log'}"
    if "://" in spec or spec.startswith("journal:"):
        return spec
    return f"journal:{spec}"


def open_storage(spec, parser):
    """An Optuna storage for ``spec``; a storage that cannot be opened is a usage error."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if spec.startswith("journal:"):
        path = Path(spec[len("journal:") :])
        if path.is_dir():
            parser.error(f"argument --storage: {path} is a folder; pass a journal file path")
        if path.is_file() and path.read_bytes()[: len(_SQLITE_MAGIC)] == _SQLITE_MAGIC:
            parser.error(
                f"argument --storage: {path} is an SQLite database, not a journal file; "
                f"pass it as a URL: --storage sqlite:///{path}"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    try:
        return optuna.storages.RDBStorage(spec)
    except Exception as error:  # noqa: BLE001 - SQLAlchemy's and the drivers' errors vary
        parser.error(
            f"argument --storage: cannot open {spec}: {error}. Pass a database URL such as "
            "sqlite:///study.db or postgresql+psycopg://user@host/db, or a journal file path"
        )


def _skloss_studies(storage):
    import optuna

    return [
        summary.study_name
        for summary in optuna.get_all_study_summaries(storage, include_best_trial=False)
        if SETTINGS_ATTR in summary.user_attrs
    ]


def _create_fresh(storage, make):
    """Create a study under the first free name ``skloss-tune-N``."""
    import optuna

    taken = set(_skloss_studies(storage))
    number = len(taken) + 1
    while True:
        name = f"{FRESH_NAME}-{number}"
        if name not in taken:
            try:
                return make(name, load_if_exists=False)
            except optuna.exceptions.DuplicatedStudyError:
                pass  # another process took it meanwhile
        number += 1


def open_study(args, storage, spec, settings, parser, make):
    """Return ``(study, how)``: a fresh, joined or resumed study whose settings match.

    ``make(name, load_if_exists)`` creates or loads a study in ``storage``.
    """
    import optuna

    if args.resume:
        name = args.study
        if name is None:
            found = _skloss_studies(storage)
            if not found:
                parser.error(
                    f"argument --resume: no skloss tune study in {spec} to resume; leave out "
                    "--resume to start one"
                )
            name = found[-1]
        elif name not in optuna.get_all_study_names(storage):
            parser.error(f"argument --resume: no study {name!r} in {spec} to resume")
        study, how = make(name, load_if_exists=True), "resumed"
    elif args.study is not None:
        study = make(args.study, load_if_exists=True)
        how = "joined" if study.trials or SETTINGS_ATTR in study.user_attrs else "started"
    else:
        study, how = _create_fresh(storage, make), "started"
    _record_or_check(study, settings, spec, parser)
    return study, how


def _record_or_check(study, settings, spec, parser):
    stored = study.user_attrs.get(SETTINGS_ATTR)
    if stored is None:
        study.set_user_attr(SETTINGS_ATTR, settings)
        return
    differ = sorted(
        key for key in set(stored) | set(settings) if stored.get(key) != settings.get(key)
    )
    if differ:
        shown = "; ".join(
            f"{key}: study {stored.get(key)!r}, this run {settings.get(key)!r}" for key in differ
        )
        parser.error(
            f"study {study.study_name!r} in {spec} was run with other settings ({shown}); its "
            "trials would mix with this run's. Pass the study's settings to continue it, or "
            "leave out --resume/--study to start a fresh study"
        )
