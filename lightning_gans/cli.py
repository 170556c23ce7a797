"""The Lightning CLI of the library: ``lightning-gans`` (installed) and ``python train.py`` (a clone).

    lightning-gans fit --config ring8_gan                 # a bundled config, by name
    python train.py fit --config configs/ring8_gan.yaml   # the same, from a clone
    lightning-gans fit --config configs/digits_nsgan.yaml --trainer.max_steps=2000 --seed_everything=1

``--model`` and ``--data`` take any LightningModule / LightningDataModule subclass (short names of
the library's classes work: ``--model=GAN --data=Digits``); the datamodule's ``data_shape`` is
linked into the model, so the networks are built for the data they see.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import lightning.pytorch as pl
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback

import lightning_gans.callbacks  # noqa: F401  (registers the library's callbacks for the CLI)
import lightning_gans.datamodules  # noqa: F401  (registers the datamodules)
import lightning_gans.gan_modules  # noqa: F401  (registers the methods and networks)
import lightning_gans.gan_modules.networks  # noqa: F401
from lightning_gans import configs as bundled_configs
from lightning_gans.callbacks import Evaluation, SampleWriter, SaveOnInterrupt, StepCheckpoint, StepProgressBar
from lightning_gans.callbacks.run_directory import new_version_directory, run_directory
from lightning_gans.checkpoint_config import check_checkpoint_matches
from lightning_gans.datamodules.contract import data_shape_of
from lightning_gans.errors import user_errors_as_one_line
from lightning_gans.parser_errors import OneLineErrorParser
from lightning_gans.gan_modules.training.base import check_training_budget


LIGHTNING_CHECKPOINT = "lightning.pytorch.callbacks.ModelCheckpoint"


class SaveAndLogConfig(SaveConfigCallback):
    """Write ``config.yaml`` into the run's own directory (:func:`~lightning_gans.callbacks.run_directory.
    run_directory`; Lightning's ``trainer.log_dir`` is one folder for every W&B run of a config) and send
    the whole resolved config to the loggers (W&B shows it as the run's config), so a run can be
    reproduced from the tracker alone."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs, save_to_log_dir=False)

    def save_config(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        directory = run_directory(trainer)
        directory.mkdir(parents=True, exist_ok=True)
        self.parser.save(self.config, str(directory / self.config_filename), skip_none=False,
                         overwrite=self.overwrite, multifile=self.multifile)
        config = self.config.as_dict()
        config.pop("config", None)
        for logger in trainer.loggers:
            logger.log_hyperparams({"cli": config})


def linked_data_shape(datamodule: pl.LightningDataModule) -> tuple[int, ...]:
    """The model's ``data_shape``: the datamodule's, else (after the datamodule's ``setup``) the shape of
    one example of its first training batch, so the network factories are built for the data."""
    if getattr(datamodule, "data_shape", None) is None:
        datamodule.setup("fit")
    return data_shape_of(datamodule)


class GANCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data", "model.init_args.data_shape", compute_fn=linked_data_shape, apply_on="instantiate")

    def parse_arguments(self, parser, args) -> None:
        """Parse, then hold ``--ckpt_path`` against the command line's model (:mod:`lightning_gans.checkpoint_config`)."""
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        self._command_line_model = None
        if subcommand and self.config[subcommand].get("ckpt_path"):
            self._command_line_model = self.config[subcommand].model.clone()
            check_checkpoint_matches(self.config[subcommand].ckpt_path, self._command_line_model)

    def before_instantiate_classes(self) -> None:
        """Undo LightningCLI's replacement of the model config by the checkpoint's hyper-parameters;
        checkpoint on the optimizer-step clock: Lightning's ``ModelCheckpoint`` in a config becomes a
        :class:`~lightning_gans.callbacks.checkpoint.StepCheckpoint` with the same arguments; a run
        without a logger gets a new ``version_<n>`` directory under ``default_root_dir`` (with a logger,
        the logger's version is the run's own directory), so no run overwrites another's config or
        checkpoints."""
        config = self.config[self.config.subcommand]
        for flag in ("optimizer", "lr_scheduler"):
            if config.get(flag) is not None:
                raise ValueError(
                    f"--{flag} sets one optimizer for a module with one; a GAN has one a player: set "
                    "--model.init_args.generator_optimizer and --model.init_args.discriminator_optimizer "
                    "(e.g. --model.init_args.generator_optimizer.lr=0.0002; alpha-GAN also has encoder_optimizer "
                    "and code_discriminator_optimizer)")
        if self._command_line_model is not None:
            config.model = self._command_line_model
        for callback in config.trainer.get("callbacks") or []:
            if getattr(callback, "class_path", None) == LIGHTNING_CHECKPOINT:
                callback.class_path = f"{StepCheckpoint.__module__}.{StepCheckpoint.__name__}"
        if config.trainer.get("logger") is False:  # one run, one directory, as the loggers' versions give
            config.trainer.default_root_dir = str(new_version_directory(config.trainer.default_root_dir or "."))

    def _add_when_missing(self, callback_type: type) -> None:
        if not any(isinstance(callback, callback_type) for callback in self.trainer.callbacks):
            self.trainer.callbacks.append(callback_type())

    def before_fit(self) -> None:
        """A fit that would train nothing stops here, before the run writes anything (any model:
        :func:`check_training_budget`); Ctrl-C and SIGTERM end the fit with a checkpoint
        (:class:`SaveOnInterrupt`), and Lightning's default progress bar becomes one on the
        optimizer-step clock of ``max_steps``."""
        check_training_budget(self.trainer)
        if hasattr(self.model, "resume_optimizer_settings"):
            self.model.resume_optimizer_settings = "module"  # a resumed run: the command line decides (warned)
        self._add_when_missing(SaveOnInterrupt)
        bar = self.trainer.progress_bar_callback
        if type(bar) is TQDMProgressBar:
            self.trainer.callbacks[self.trainer.callbacks.index(bar)] = StepProgressBar(bar.refresh_rate)

    def before_validate(self) -> None:
        """``validate`` scores the checkpoint with the run's ``Evaluation`` callback, or the data's default metrics."""
        self._add_when_missing(Evaluation)

    def before_test(self) -> None:
        self._add_when_missing(Evaluation)

    def before_predict(self) -> None:
        """``predict`` writes its samples with the run's ``SampleWriter``, or one with the defaults."""
        self._add_when_missing(SampleWriter)

    def after_predict(self) -> None:
        writer = next(callback for callback in self.trainer.callbacks if isinstance(callback, SampleWriter))
        if self.trainer.is_global_zero:
            print(f"samples:       {writer.output_dir.resolve()}  (samples.pt, samples.png)")


def resume_checkpoint(trainer: pl.Trainer) -> Path | None:
    """The checkpoint to resume the run from: the ``interrupted.ckpt`` of a run that :class:`SaveOnInterrupt`
    stopped, else the ``ModelCheckpoint``'s last (or best) one; ``None`` when the run wrote none."""
    interrupted = next((callback.checkpoint_path for callback in trainer.callbacks
                        if isinstance(callback, SaveOnInterrupt) and callback.checkpoint_path is not None), None)
    if interrupted is not None:
        return interrupted
    checkpoint = trainer.checkpoint_callback
    path = (checkpoint.last_model_path or checkpoint.best_model_path) if checkpoint is not None else ""
    return Path(path) if path else None


#: ``eval/`` values that describe an evaluation rather than score the model
EVALUATION_BOOKKEEPING = {"n_samples", "seconds", "time_fraction", "n_real", "n_real_val"}


def final_scores(trainer: pl.Trainer) -> dict[str, float]:
    """The run's last evaluation (its ``Evaluation`` callback's ``eval/*`` values), bookkeeping left out."""
    scores = {}
    for key, value in trainer.callback_metrics.items():
        name = key.removeprefix("eval/")
        if key.startswith("eval/") and name not in EVALUATION_BOOKKEEPING:
            scores[name] = float(value)
    return scores


def report_outputs(trainer: pl.Trainer) -> None:
    """Tell the user how good the run is (:func:`final_scores`) and where it left its checkpoint
    (:func:`resume_checkpoint`) and pictures."""
    lines = [f"run directory: {run_directory(trainer).resolve()}"]
    scores = final_scores(trainer)
    if scores:
        lines.append(f"score:         {', '.join(f'{name} {value:.4g}' for name, value in sorted(scores.items()))} "
                     f"(step {trainer.global_step})")
    checkpoint = resume_checkpoint(trainer)
    if checkpoint is not None:
        lines.append(f"checkpoint:    {checkpoint.resolve()}")
    for callback in trainer.callbacks:
        directory = getattr(callback, "output_dir", None)
        if directory is not None:
            lines.append(f"{type(callback).__name__}: {Path(directory).resolve()}")
    if trainer.is_global_zero:
        print("\n".join(lines))


def resolve_config_names(args: list[str]) -> list[str]:
    """``--config NAME`` where no file ``NAME`` exists names a bundled config (:mod:`lightning_gans.configs`)."""
    resolved = list(args)
    for i, arg in enumerate(resolved):
        if arg == "--config" and i + 1 < len(resolved):
            value, prefix, index = resolved[i + 1], "", i + 1
        elif arg.startswith("--config="):
            value, prefix, index = arg[len("--config="):], "--config=", i
        else:
            continue
        if not Path(value).exists():
            try:
                resolved[index] = prefix + str(bundled_configs.path(value))
            except FileNotFoundError as error:
                raise SystemExit(f"error: {error}") from None
    return resolved


def import_from_working_directory() -> None:
    """Let class paths name the modules of the directory the command runs in (``models.MyGenerator``,
    ``datamodules.Moons``), as ``python -m`` would: the console command's ``sys.path`` starts with its
    own folder, and ``python train.py`` with the clone's."""
    working_directory = os.getcwd()
    if working_directory not in sys.path and "" not in sys.path:
        sys.path.insert(0, working_directory)


def main(args: list[str] | None = None) -> GANCLI:
    """Run the CLI on ``args`` (default: the command line), with the working directory importable."""
    import_from_working_directory()
    if args is None:  # the command line itself, so that LightningCLI reads it as its own
        sys.argv[1:] = resolve_config_names(sys.argv[1:])
    else:
        args = resolve_config_names(args)
    given = sys.argv[1:] if args is None else args
    with user_errors_as_one_line(subcommand=next((a for a in given if a in GANCLI.subcommands()), None)):
        cli = GANCLI(
            pl.LightningModule,
            pl.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_callback=SaveAndLogConfig,
            parser_class=OneLineErrorParser,
            save_config_kwargs={"overwrite": False},  # a config.yaml already there is another run's
            args=args,
        )
    if cli.subcommand == "fit":
        report_outputs(cli.trainer)
        interrupted = next(c for c in cli.trainer.callbacks if isinstance(c, SaveOnInterrupt)).signal_received
        if interrupted is not None:
            raise SystemExit(128 + interrupted)  # the shell's convention for a process ended by a signal
    return cli


def run() -> None:
    """The ``lightning-gans`` console command (returns nothing, so the exit status is 0 on success)."""
    main()
