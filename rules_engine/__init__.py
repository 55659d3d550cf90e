"""Inspection plans (Z1.4 sampling with switching), SPC rules, streaming monitors and their
run lengths, capability and equivalence, gauge studies, reliability demonstration by life
testing, and the safe trigger-expression language of rule sets.

Names are imported on first use: a loader that needs the rule-set format does not pay for
the sampling tables' statistics, the failure tables or the ONNX runtime.
"""

from __future__ import annotations

from shocktwin._lazy import lazy_exports

_MODULES = {
    "ai_inspection": (
        "AIInspectionModel", "Disposition", "InspectionCounts", "ModelMetadata",
        "count_decisions", "load_inspection_model"),
    "arl": (
        "cusum_arl", "ewma_arl", "shewhart_arl"),
    "capability": (
        "CapabilityIndices", "cp", "cpk", "process_capability"),
    "capability_interval": (
        "CapabilityIntervals", "Interval", "capability_intervals", "cp_interval",
        "cpk_interval"),
    "equivalence": (
        "EquivalenceDesign", "EquivalenceResult", "tost", "tost_power"),
    "expression": (
        "CompiledExpression", "EvaluationError", "ValueKind", "check_expression",
        "compile_expression"),
    "failures": (
        "FailureRow", "Risk", "RiskAssessment", "SAMPLING_BY_RISK", "action_priority",
        "assess_row", "draft_plan", "dump_rules", "jeffreys_upper_bound", "load_failures",
        "parse_failures"),
    "gauge": (
        "GaugeStudy", "Misclassification", "gauge_study", "misclassification"),
    "lint": (
        "LintCode", "LintFinding", "LintSeverity", "lint_file", "lint_rules"),
    "monitor": (
        "CMonitor", "CusumMonitor", "EwmaMonitor", "InControl", "IndividualsMonitor",
        "LimitSignal", "Monitor", "MonitorKind", "MonitorUpdate", "NpMonitor", "PMonitor",
        "RunRules", "Signal", "UMonitor", "XbarRMonitor", "XbarSMonitor", "c4"),
    "reliability": (
        "AccelerationModel", "Arrhenius", "BOLTZMANN_EV_PER_K", "Censoring", "Criterion",
        "Demonstration", "DemonstrationMethod", "InversePowerLaw", "LifeDistribution",
        "LifeTestPlan", "LognormalLife", "WeibullLife", "binomial_sample_size", "demonstrate",
        "life_test_plan", "reliability_lower_bound", "run_life_test",
        "success_run_pass_probability", "success_run_sample_size", "success_run_test_h",
        "weibull_scale_lower_bound"),
    "ruleset": (
        "Action", "ActionType", "CompiledPlan", "CompiledRules", "CompiledTrigger", "Plan",
        "RuleSet", "STATISTICS", "Statistic", "Trigger", "compile_plan", "diff_rules",
        "load_rules", "parse_rules", "read_rules", "rules_json_schema"),
    "sampling": (
        "AQL_SERIES", "CODE_LETTERS", "InspectionLevel", "Measure", "PlanCell",
        "SamplingPlan", "Severity", "acceptance_number_one_step_tighter", "code_letter",
        "normalise_aql", "oc_curve", "plan_table", "single_sampling_plan"),
    "spc": (
        "ChartConstants", "ChartKind", "ControlChart", "IndividualsChart", "NelsonRule",
        "WesternElectricRule", "XbarRChart", "chart_constants", "individuals_chart",
        "nelson_rules", "p_chart", "western_electric_rules", "xbar_r_chart",
        "xbar_r_limits"),
    "switching": (
        "InspectionState", "InspectionSwitched", "LotOutcome", "SwitchReason",
        "SwitchingProcedure", "SwitchingVariant"),
}

__all__ = sorted(name for names in _MODULES.values() for name in names)

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
