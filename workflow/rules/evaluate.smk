# Evaluate: lm-eval with the kit's budget-forcing model. The setting name (bf-<N>, wait-<N>,
# rs-<N>, tcc-<N>, ...; docs/evaluate.md) sets the budget-forcing arguments and the task's
# control prompt. Kit semantics: one run per model x setting x task (evaluate_run). Fork
# semantics: the tasks of one official command in one run (evaluate_batch_*, config
# evaluate.batches), each task still its own results.json.
rule evaluate_run:
    input:
        model=eval_model_dir,
        tokenizer=eval_tokenizer,
        data=lambda w: f"results/data/eval/{EVAL_DATA.get(w.task, w.task)}.jsonl",
    output:
        results="results/eval/{model}/{setting}/{task}/results.json",
        samples="results/eval/{model}/{setting}/{task}/samples.jsonl",
    wildcard_constraints:
        setting=_alt(KIT_SETTINGS),
    params:
        rule="evaluate_run",
        gen_kwargs=json_param(EV.get("gen_kwargs", {}), "evaluate.gen_kwargs"),  # verbatim: never formatted
        backend=EV["backend"],
        semantics=EVAL_SEMANTICS,
        batch_size=EV.get("batch_size", 64),
        seed=EV.get("seed", 1234),
        limit=["--limit", str(EV["limit"])] if EV.get("limit") else [],
        # engine settings that change results (precision, tensor parallelism): recorded in results.json
        dtype=EV.get("dtype", "auto"),
        model_args=eval_model_args,
        remote_code=as_json(EV.get("trust_remote_code", [])),  # models allowed trust_remote_code
        # answer scoring (evaluate.scoring: kit | fork), read by the task code
        task_metadata=as_json({"scoring": EV["scoring"]}),
        out_dir=lambda w, output: str(Path(output.results).parent),
    threads: 1
    log:
        "logs/eval/{model}/{setting}/{task}.log",
    container:
        CONTAINERS["eval"]
    shell:
        "S1KIT_RULE={params.rule} OMP_NUM_THREADS={threads} s1kit evaluate --model {input.model:q} --model-name {wildcards.model:q}"
        " --task {wildcards.task:q} --data {input.data:q} --setting {wildcards.setting:q}"
        " --base-gen-kwargs {params.gen_kwargs:q} --out-dir {params.out_dir:q}"
        " --backend {params.backend:q} --semantics {params.semantics:q} --batch-size {params.batch_size:q} --seed {params.seed:q} --dtype {params.dtype:q}"
        " --model-args {params.model_args:q} --trust-remote-code {params.remote_code:q}"
        " --task-metadata {params.task_metadata:q} {params.limit:q} > {log:q} 2>&1"


# One rule per task tuple of evaluate.batches (fork semantics): {pair} is "<model>/<setting>".
for _tasks, _pairs in BATCH_PAIRS.items():
    _name = "evaluate_batch_" + "__".join(_tasks)

    rule:
        name:
            _name
        input:
            model=lambda w: eval_model_dir(pair_wildcards(w)),
            tokenizer=lambda w: eval_tokenizer(pair_wildcards(w)),
            data=[f"results/data/eval/{EVAL_DATA.get(t, t)}.jsonl" for t in _tasks],
        output:
            results=[f"results/eval/{{pair}}/{t}/results.json" for t in _tasks],
            samples=[f"results/eval/{{pair}}/{t}/samples.jsonl" for t in _tasks],
        wildcard_constraints:
            pair=_alt(_pairs),
        params:
            rule=_name,
            model=lambda w: pair_wildcards(w).model,
            setting=lambda w: pair_wildcards(w).setting,
            tasks=list(_tasks),
            gen_kwargs=json_param(EV.get("gen_kwargs", {}), "evaluate.gen_kwargs"),  # verbatim: never formatted
            backend=EV["backend"],
            semantics=EVAL_SEMANTICS,
            batch_size=EV.get("batch_size", 64),
            seed=EV.get("seed", 1234),
            limit=["--limit", str(EV["limit"])] if EV.get("limit") else [],
            dtype=EV.get("dtype", "auto"),
            model_args=eval_model_args,
            remote_code=as_json(EV.get("trust_remote_code", [])),
            task_metadata=as_json({"scoring": EV["scoring"]}),
            out_dirs=lambda w, output: [str(Path(r).parent) for r in output.results],
        threads: 1
        log:
            f"logs/eval/{{pair}}/{'+'.join(_tasks)}.log",
        container:
            CONTAINERS["eval"]
        shell:
            "S1KIT_RULE={params.rule} OMP_NUM_THREADS={threads} s1kit evaluate --model {input.model:q} --model-name {params.model:q}"
            " --task {params.tasks:q} --data {input.data:q} --setting {params.setting:q}"
            " --base-gen-kwargs {params.gen_kwargs:q} --out-dir {params.out_dirs:q}"
            " --backend {params.backend:q} --semantics {params.semantics:q} --batch-size {params.batch_size:q} --seed {params.seed:q} --dtype {params.dtype:q}"
            " --model-args {params.model_args:q} --trust-remote-code {params.remote_code:q}"
            " --task-metadata {params.task_metadata:q} {params.limit:q} > {log:q} 2>&1"
