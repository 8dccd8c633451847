"""Every `s1kit` subcommand: its help, its flags and what it runs, the last two named as "module:function"
strings where loading them would import a stage, so building the parser imports none and running a command
imports only its own stage (s1kit.cli.handlers, or the stage module itself)."""

from __future__ import annotations

from dataclasses import dataclass

from s1kit.cli.args import (
    AttemptsArgs,
    CollectEvalArgs,
    CollectPoolArgs,
    CollectSourceArgs,
    CostArgs,
    DistillArgs,
    DomainsArgs,
    FeaturizeArgs,
    FetchArgs,
    FetchModelArgs,
    FetchOfficialArgs,
    GradeAgreementArgs,
    GradeArgs,
    RetraceArgs,
    ReviewGradeArgs,
    ReviewSelectArgs,
    SelectArgs,
    SelectOverlapArgs,
    SourcesArgs,
    TrainArgs,
    WhereArgs,
)


@dataclass(frozen=True)
class Command:
    """One subcommand.

    ``flags`` is its flags dataclass (s1kit.cli.args; its docstring is the help), or the "module:function"
    that adds a module's own flags to the subparser; ``run`` is the "module:function" called with the
    flags' dataclass, or with the argparse namespace when the module adds its own flags.
    """

    flags: type | str
    run: str
    about: str = ""  # the help, where ``flags`` is no dataclass

    def __post_init__(self) -> None:
        if isinstance(self.flags, str) and not self.about:
            raise ValueError(f"command running {self.run}: its module adds its own flags, so `about` is its help")

    @property
    def help(self) -> str:
        return self.about or self.flags.__doc__


def handler(stage: str, function: str) -> str:
    """The "module:function" of a handler in s1kit.cli.handlers.<stage>."""
    return f"s1kit.cli.handlers.{stage}:{function}"


# name -> Command, in `s1kit --help` order
COMMANDS: dict[str, Command] = {
    "sources": Command(SourcesArgs, handler("sources", "sources_command")),
    "retrace": Command(RetraceArgs, handler("select", "retrace_command")),
    "fetch": Command(FetchArgs, handler("sources", "fetch_command")),
    "collect-source": Command(CollectSourceArgs, handler("collect", "collect_source_command")),
    "collect-eval": Command(CollectEvalArgs, handler("collect", "collect_eval_command")),
    "collect-pool": Command(CollectPoolArgs, handler("collect", "collect_pool_command")),
    "fetch-model": Command(FetchModelArgs, handler("sources", "fetch_model_command")),
    "distill": Command(DistillArgs, handler("distill", "distill_command")),
    "attempts": Command(AttemptsArgs, handler("featurize", "attempts_command")),
    "grade": Command(GradeArgs, handler("featurize", "grade_command")),
    "grade-agreement": Command(GradeAgreementArgs, handler("featurize", "grade_agreement_command")),
    "domains": Command(DomainsArgs, handler("featurize", "domains_command")),
    "fetch-official": Command(FetchOfficialArgs, handler("sources", "fetch_official_command")),
    "cost": Command(CostArgs, handler("featurize", "cost_command")),
    "featurize": Command(FeaturizeArgs, handler("featurize", "featurize_command")),
    "select": Command(SelectArgs, handler("select", "select_command")),
    "select-overlap": Command(SelectOverlapArgs, handler("select", "select_overlap_command")),
    "review-grade": Command(ReviewGradeArgs, handler("review", "review_grade_command")),
    "review-select": Command(ReviewSelectArgs, handler("review", "review_select_command")),
    "train": Command(TrainArgs, handler("train", "train_command")),
    "where": Command(WhereArgs, handler("where", "where_command")),
    # modules that add their own flags: their parser is built only for the command being run
    "trace": Command("s1kit.trace:add_trace_arguments", "s1kit.trace:trace_main",
                     "the provenance chain of a claim's target file, down to the raw sources"),
    "evaluate": Command("s1kit.evaluate.run:add_arguments", "s1kit.evaluate.run:main",
                        "one model x setting x task through lm-eval with budget forcing"),
    "paper": Command("s1kit.paper.build:add_arguments", "s1kit.paper.build:main",
                     "tables, figures, claims.csv and the claims report from whatever results exist"),
    "official-command": Command("s1kit.evaluate.official_commands:add_arguments",
                                "s1kit.evaluate.official_commands:main",
                                "the kit run (model, setting, budget config) that reproduces an official lm_eval "
                                "command line"),
}
