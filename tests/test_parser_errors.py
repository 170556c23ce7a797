"""Config and command-line mistakes are one line naming the option, with the closest existing names."""

import pytest

from lightning_gans.cli import main
from lightning_gans.parser_errors import innermost_error

HINT = "(`{prog} fit --help` lists the options, `--print_config` shows the resolved configuration)"


def error_lines(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", "configs/ring8_gan.yaml", *args])
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("arg, expected", [
    ("--model.init_args.generator_los=minimax",
     "--model.generator_los: Option 'generator_los' is not accepted (did you mean `generator_loss`?)"),
    ("--model.init_args.generator_optimizer.lr=fast",
     "--model.generator_optimizer.lr: Expected a <class 'float'>. Got value: fast"),
    ("--model.init_args.generator=no_such_package.Network", "--model.generator: No module named 'no_such_package'"),
    ("--trainer.max_stpes=3", "unrecognized arguments: --trainer.max_stpes=3 (did you mean `--trainer.max_steps`?)"),
])
def test_a_mistake_is_one_line_naming_the_option(capsys, arg, expected):
    first, second = error_lines(capsys, arg)
    assert first.endswith(f" fit: error: {expected}")
    assert second.startswith("(`") and second.endswith("--print_config` shows the resolved configuration)")


def test_the_innermost_line_of_a_nested_message_and_its_option():
    message = '''Parser key "model":
  Errors:
    - Problem with given class_path 'a.B':
        Parser key "net":
          - Expected a path but x either not accessible or invalid
          Errors:
            - Problem with given class_path 'x':
                No module named 'x'
    - Expected a <class 'NoneType'>
  Given value: NestedArg(key='net', val='x')'''
    assert innermost_error(message) == ("model.net", "No module named 'x'")
    assert innermost_error("plain message") == ("", "plain message")


def test_a_modules_help_lists_the_librarys_networks_not_every_torch_module(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--model.help", "WGANGP"])
    shown = capsys.readouterr().out
    assert len(shown.splitlines()) < 300  # 1,612 lines listed 460 torch.nn classes as possible generators
    generator_help = shown[shown.index("--model.generator GENERATOR"):shown.index("--model.discriminator.help")]
    unwrapped = generator_help.replace("\n", "").replace(" ", "")
    for network in ("MLPGenerator", "DCGANGenerator", "WGANGPResNetGenerator", "SNGANResNetGenerator"):
        assert f"lightning_gans.gan_modules.networks.{network}" in unwrapped  # the public networks come first
    assert "torch.nn.Linear" not in unwrapped and "oftorchandotherlibraries" in unwrapped
