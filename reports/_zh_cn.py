"""The report's Simplified-Chinese (zh-CN) catalogue: each English label the report writes,
and its translation. ``{name}`` fields are kept as they are and filled in after translation.

Terms follow ISO 22301 and the common Chinese quality vocabulary (GB/T 19000): 最大可容忍
中断 (MTD), 最低恢复保证率 (minimum recovery guarantee rate), 稳态假设 (steady-state
hypothesis), 置信区间 (confidence interval), 重复运行 (replication).
"""

from __future__ import annotations

__all__ = ["PLOTLY_ZH_CN", "ZH_CN"]

ZH_CN: dict[str, str] = {
    # ------------------------------------------------------------------ sections
    "The decision": "评审结论",
    "Indicators by scenario and shock": "按场景与冲击列出的指标",
    "Trends over reviews": "历次评审趋势",
    "Stress-gate results": "压力门禁结果",
    "Rule-set changes and their effect": "规则集变更及其影响",
    "Cost of quality": "质量成本",
    "Provenance": "数据来源",
    "Reproducibility": "可复现性",
    "Sign-off": "签署",
    "KPIs with 95 % intervals": "关键绩效指标及其 95% 置信区间",
    "Resilience curves": "韧性曲线",
    "Maximum tolerable disruption: the evidence": "最大可容忍中断：依据",
    "KPI distributions over replications": "关键绩效指标在各次重复运行中的分布",
    "Pareto front of mitigations": "缓解措施的帕累托前沿",
    "Measured quality: capability, control charts, comparability":
        "实测质量：过程能力、控制图、可比性",
    "Quality system recovery": "质量体系恢复",
    "Provenance in full": "完整数据来源",
    "Reproducibility in full": "完整可复现性信息",
    "Appendix: the details (not printed)": "附录：详细信息（不打印）",
    # ------------------------------------------------------------------ page one
    "Resilience management review {review}": "韧性管理评审 {review}",
    "Resilience management review: {names}": "韧性管理评审：{names}",
    "{n} results folders: {labels}": "{n} 个结果文件夹：{labels}",
    "history {file}: review {review}": "历史库 {file}：评审 {review}",
    "(compared with {review})": "（对比 {review}）",
    "runs started {first}": "运行开始于 {first}",
    "report generated {when}": "报告生成于 {when}",
    "MAINTAINED": "韧性保持",
    "NOT MAINTAINED": "韧性未保持",
    "UNDECIDED": "未定",
    "NO VERDICT": "无结论",
    "Resilience is maintained: all {n} tests meet their target{rest}.":
        "韧性得以保持：全部 {n} 项测试达到目标{rest}。",
    "Resilience is not maintained: {k} of {n} tests miss their target{undecided}{rest}.":
        "韧性未能保持：{n} 项测试中有 {k} 项未达到目标{undecided}{rest}。",
    ", {u} undecided": "，{u} 项未定",
    "Undecided: no test misses its target, but {u} of {n} cannot be decided yet "
    "(add replications){rest}.":
        "未定：没有测试未达目标，但 {n} 项中有 {u} 项尚无法判定（请增加重复运行次数）{rest}。",
    "No verdict: no indicator in these results has a target or a hypothesis{rest}.":
        "无结论：这些结果中没有任何指标设有目标或假设{rest}。",
    "; {k} without a target or hypothesis": "；{k} 项没有目标或假设",
    "Maximum tolerable disruption": "最大可容忍中断",
    "Minimum recovery guarantee rate": "最低恢复保证率",
    "Steady-state hypothesis": "稳态假设",
    "not measured": "未测量",
    "No MTD search among these results (shocktwin mtd or campaign).":
        "这些结果中没有最大可容忍中断搜索（shocktwin mtd 或 campaign）。",
    "Not measured in these results: state a recovery objective in the hypothesis (recovery: "
    "level, within, guarantee) and run mtd or campaign.":
        "这些结果中未测量：请在假设中给出恢复目标（recovery: level、within、guarantee），"
        "再运行 mtd 或 campaign。",
    "the lowest over {n} shocks": "{n} 个冲击中的最低值",
    "the most exposed of {n} shocks": "{n} 个冲击中风险敞口最大者",
    "95 % interval": "95% 置信区间",
    "target": "目标",
    "since {review}": "相比 {review}",
    "{k} of {n} meet their target": "{n} 项中有 {k} 项达到目标",
    "below {low} (the lowest severity searched)": "低于 {low}（搜索的最低严重程度）",
    "above {high} (the highest severity searched)": "高于 {high}（搜索的最高严重程度）",
    "below the searched range": "低于搜索范围",
    "above the searched range": "高于搜索范围",
    "below the range": "低于范围",
    "all of it below the searched range": "整个区间低于搜索范围",
    "all of it above the searched range": "整个区间高于搜索范围",
    "above the range": "高于范围",
    "≥ {share} of replications": "≥ {share} 的重复运行",
    "new in this review": "本次评审新增",
    "{sign}{points} points": "{sign}{points} 个百分点",
    "was {value}": "此前为 {value}",
    "was {state}": "此前为{state}",
    "unchanged": "无变化",
    "meets target": "达到目标",
    "misses target": "未达目标",
    "undecided": "未定",
    "not converged": "未收敛",
    "no target": "无目标",
    "holds": "成立",
    "violated": "被违反",
    "no hypothesis": "无假设",
    "no hypothesis — no verdict": "无假设——无结论",
    "steady-state hypothesis {state}": "稳态假设{state}",
    "all tolerances held together in {held} of {n} replications ({share}, {level} "
    "interval {low} … {high}; required {required})":
        "在 {n} 次重复运行中有 {held} 次全部容差同时满足（{share}，{level} 置信区间 {low} … "
        "{high}；要求 {required}）",
    "Top risks, by exposure": "按风险敞口排序的主要风险",
    "rank": "排名",
    "scenario · shock": "场景 · 冲击",
    "indicator": "指标",
    "value": "数值",
    "exposure (gap to target)": "风险敞口（与目标的差距）",
    "state": "状态",
    "{share} short of the target": "比目标低 {share}",
    "{share} above the target": "比目标高 {share}",
    "{points} points short": "低 {points} 个百分点",
    "{points} points above": "高 {points} 个百分点",
    "its interval reaches {share} below the target": "其置信区间下端比目标低 {share}",
    "its interval reaches {points} points below the target":
        "其置信区间下端比目标低 {points} 个百分点",
    "No indicator misses its target or is undecided.": "没有指标未达目标或处于未定状态。",
    "{n} more below (Indicators by scenario and shock).":
        "另有 {n} 项，见下文（按场景与冲击列出的指标）。",
    "Suppliers by risk-exposure index (screen of {scenario})":
        "按风险敞口指数排列的供应商（{scenario} 的筛查）",
    "supplier": "供应商",
    "material": "物料",
    "risk-exposure index": "风险敞口指数",
    "TTS": "生存时间 (TTS)",
    "TTR": "恢复时间 (TTR)",
    "units lost": "损失件数",
    "The screen found no supplier at risk.": "筛查未发现有风险的供应商。",
    "Recommendations": "建议措施",
    "recorded in the suite": "测试套件中记录",
    "Pareto front of optimize": "optimize 的帕累托前沿",
    "No mitigation is recorded in the suite and no optimisation is among the results: "
    "shocktwin optimize finds mitigation settings with their cost.":
        "测试套件中没有记录缓解措施，结果中也没有优化结果：shocktwin optimize 可找出缓解措施"
        "的设置及其成本。",
    "mitigation": "缓解措施",
    "scenario": "场景",
    "cost": "成本",
    "not stated": "未给出",
    "effect": "效果",
    "from": "来源",
    "{n} more options in the appendix (Pareto front of mitigations).":
        "附录中另有 {n} 个选项（缓解措施的帕累托前沿）。",
    "({runs} runs)": "（{runs} 次运行）",
    "MEETS TARGET": "达到目标",
    "MISSES TARGET": "未达目标",
    "NOT CONVERGED": "未收敛",
    "NO TARGET": "无目标",
    "HOLDS": "成立",
    "VIOLATED": "被违反",
    "NO HYPOTHESIS": "无假设",
    "UNVERIFIED": "未验证",
    "INTACT": "完整",
    "The results of {names} do not verify: they changed after they were written, or carry "
    "no integrity data. This report was written with --unverified; their numbers cannot be "
    "relied on (see Reproducibility).":
        "{names} 的结果未通过校验：写入后被修改过，或没有完整性数据。本报告使用 --unverified "
        "生成，这些数字不可依赖（见可复现性）。",
    # ------------------------------------------------------------------ indicators, trends
    "Each shock (row) in each scenario (column): green meets its target, red misses it, "
    "amber is undecided, grey has no target; the cell shows the MTD and the recovery "
    "guarantee rate where measured, and takes the colour of the worse. Look for red rows (a "
    "shock no scenario withstands) and red columns (a scenario weak against many shocks).":
        "每个冲击（行）在每个场景（列）中的结果：绿色达到目标，红色未达目标，琥珀色未定，"
        "灰色无目标；单元格显示已测量的最大可容忍中断和恢复保证率，并取较差者的颜色。请留意"
        "整行红色（没有场景能承受的冲击）和整列红色（对多种冲击都薄弱的场景）。",
    "No indicator in these results.": "这些结果中没有指标。",
    "Indicators that miss their target, are undecided or changed state":
        "未达目标、未定或状态有变化的指标",
    "The other {n} meet their target as in the review before; every indicator is in the "
    "appendix (All indicators).": "其余 {n} 项与上次评审一样达到目标；全部指标见附录（全部指标）。",
    "All indicators": "全部指标",
    "Every indicator meets its target, as in the review before.":
        "与上次评审一样，所有指标均达到目标。",
    "Steady-state hypotheses of {n} scenarios: {holds} hold, {violated} violated, "
    "{undecided} undecided, {none} without a hypothesis.":
        "{n} 个场景的稳态假设：{holds} 个成立，{violated} 个被违反，{undecided} 个未定，"
        "{none} 个没有假设。",
    "An MTD below the searched range means the hypothesis fails already at the lowest "
    "severity searched (the plant cannot take even that); above it, the hypothesis still "
    "holds at the highest severity searched. Widen the range to place it.":
        "最大可容忍中断低于搜索范围，表示在搜索的最低严重程度下假设就已不成立（工厂连这一程度"
        "也承受不了）；高于搜索范围，表示在搜索的最高严重程度下假设仍然成立。扩大搜索范围即可"
        "确定其位置。",
    "Each shock's MTD in each review, with its 95 % interval; dotted: its target. A line "
    "falling towards or below its target is resilience being lost; a gap is a review that "
    "did not test that shock.":
        "每个冲击在每次评审中的最大可容忍中断及其 95% 置信区间；虚线为目标。曲线向目标下降或"
        "跌破目标，表示韧性在流失；断点表示该次评审未测试此冲击。",
    "Each shock's minimum recovery guarantee rate in each review, with its 95 % interval; "
    "dotted: its target. A line falling towards or below its target is recovery getting "
    "less certain.":
        "每个冲击在每次评审中的最低恢复保证率及其 95% 置信区间；虚线为目标。曲线向目标下降或"
        "跌破目标，表示恢复越来越没有把握。",
    "review": "评审",
    "portfolio resilience score": "组合韧性评分",
    "runs": "运行次数",
    "finished": "完成时间",
    "Only one review in the history so far: the trend starts with the next one.":
        "历史库中目前只有一次评审：趋势将从下一次评审开始显示。",
    # ------------------------------------------------------------------ stress gate
    "REGRESSION": "退化",
    "FAILED: NOT TESTED": "不通过：未测试",
    "NOT TESTED": "未测试",
    "NO REGRESSION": "无退化",
    "NEWLY BROKEN": "新出现违反",
    "OK": "正常",
    "candidate {candidate} against baseline {baseline}": "候选规则 {candidate} 对比基线 {baseline}",
    "Both rule sets run on the same random numbers (paired); a regression is an MTD drop "
    "larger than the allowed {allowed} that the paired 95 % interval confirms, or a KPI "
    "tolerance newly broken. Policy for untested scenarios: {policy}.":
        "两套规则使用相同的随机数运行（配对比较）；退化是指配对 95% 置信区间确认的、超过允许的 "
        "{allowed} 的最大可容忍中断下降，或新出现的关键绩效指标容差违反。未测试场景的处理策略："
        "{policy}。",
    "shock": "冲击",
    "baseline MTD": "基线最大可容忍中断",
    "candidate MTD": "候选最大可容忍中断",
    "paired difference (95 % interval)": "配对差值（95% 置信区间）",
    "allowed drop": "允许下降",
    "decision": "判定",
    "KPI": "关键绩效指标",
    "tolerance": "容差",
    "held (baseline → candidate)": "满足比例（基线 → 候选）",
    "paired mean difference (95 % interval)": "配对均值差（95% 置信区间）",
    "any": "任一",
    "all": "全部",
    "never": "从不",
    # ------------------------------------------------------------------ cost
    "{tasks} quality-work tasks": "{tasks} 项质量工作任务",
    "{units} units inspected": "检验 {units} 件",
    "{units} units scrapped": "报废 {units} 件",
    "{ppm} ppm escaped": "漏检 {ppm} ppm",
    "prevention (quality-system work)": "预防（质量体系工作）",
    "appraisal (inspection)": "鉴定（检验）",
    "internal failure (scrap)": "内部损失（报废）",
    "external failure (escapes)": "外部损失（漏检流出）",
    "expediting": "加急",
    "delivery cost per unit": "单件交付成本",
    "Per replication (mean). The runs measure volumes, not money: no scenario states a cost "
    "rate for inspection, scrap, escapes or quality work, so prevention and failure are "
    "shown side by side, not summed. Expediting is not modelled. The delivery cost per unit "
    "is the suppliers' unit cost where the scenario states it.":
        "按每次重复运行（均值）。运行测量的是数量而非金额：没有场景给出检验、报废、漏检或质量"
        "工作的成本费率，因此预防与损失并列显示而不相加。加急未建模。单件交付成本为场景中给出的"
        "供应商单价。",
    # ------------------------------------------------------------------ provenance etc.
    "result": "结果",
    "kind": "类型",
    "scenario hash (first 16)": "场景哈希（前 16 位）",
    "rule files": "规则文件数",
    "recorded data files": "记录数据文件数",
    "Every hash in full, each rule file and each ingested file is in the appendix "
    "(Provenance in full).": "完整哈希、每个规则文件和每个导入文件见附录（完整数据来源）。",
    "run": "运行",
    "MTD search": "最大可容忍中断搜索",
    "optimisation": "优化",
    "stress gate": "压力门禁",
    "campaign": "评审活动",
    "integrity": "完整性",
    "version": "版本",
    "seed": "随机种子",
    "engine": "引擎",
    "replications / runs": "重复运行 / 运行次数",
    "to reproduce": "复现命令",
    "The journal hash covers the scenario, seed, engine, replication count, rule-set "
    "contents and every measured number, not times or platform: the same inputs give the "
    "same hash on any machine.":
        "日志哈希涵盖场景、随机种子、引擎、重复运行次数、规则集内容和每个测量数值，不含时间和"
        "平台：相同输入在任何机器上得到相同哈希。",
    "Quality director": "质量总监",
    "Resilience reviewer (prepared by)": "韧性评审人（编制）",
    "Plant or operations manager": "工厂或运营经理",
    "Review {review}": "评审 {review}",
    "This review": "本次评审",
    "decision taken on the verdict and indicators of page one.": "依据第一页的结论和指标作出决定。",
    "role": "角色",
    "name": "姓名",
    "decision (accepted / actions)": "决定（接受 / 措施）",
    "date": "日期",
    "signature": "签名",
    # ------------------------------------------------------------------ details: MTD
    "yes": "是",
    "NO": "否",
    "severity axis": "严重程度轴",
    "MTD": "最大可容忍中断",
    "binds first": "最先失效",
    "robustness": "鲁棒性",
    "loss %·h": "损失 %·小时",
    "ISO 22301": "ISO 22301",
    "–: too few replications to bound the interval on that side (at p = 0.9, 36 replications "
    "bound it on both sides).":
        "–：重复运行次数太少，无法界定该侧区间（p = 0.9 时，36 次重复运行可界定两侧）。",
    "a lower low would place it, if any severity is tolerable at all":
        "降低搜索下限即可确定其位置（如果存在可容忍的严重程度）",
    "a higher high would place it": "提高搜索上限即可确定其位置",
    "the MTD is {where}; {advice}.": "最大可容忍中断{where}；{advice}。",
    "below the searched range (the hypothesis fails at its lowest severity)":
        "低于搜索范围（在最低严重程度下假设即不成立）",
    "above the searched range (the hypothesis holds at its highest severity)":
        "高于搜索范围（在最高严重程度下假设仍成立）",
    "Each shock's MTD — the largest severity at which the steady-state hypothesis still "
    "holds in at least {p} of replications — as a bar with its 95 % interval; the diamond "
    "is the target (green: met, red: missed), the dots each replication's own tolerable "
    "severity. A bar short of its diamond is a shock the plant cannot take as long as the "
    "target asks.":
        "每个冲击的最大可容忍中断——在至少 {p} 的重复运行中稳态假设仍成立的最大严重程度——以"
        "柱形及其 95% 置信区间表示；菱形为目标（绿色：达到，红色：未达到），圆点为每次重复运行"
        "各自可容忍的严重程度。柱形未达到菱形，表示工厂无法承受目标要求的冲击时长。",
    "KPIs breaking first (replications)": "最先失效的关键绩效指标（重复运行次数）",
    "replications / runs the search needed": "重复运行 / 搜索所需运行次数",
    "{runs} (of them {reused} reused from an earlier search)":
        "{runs}（其中 {reused} 次沿用先前搜索）",
    "non-monotone replications": "非单调的重复运行",
    "note": "备注",
    # ------------------------------------------------------------------ details: KPIs
    "{k} of {n} ({share})": "{n} 次中 {k} 次（{share}）",
    "mean within": "均值在容差内",
    "mean outside": "均值超出容差",
    "mean of {n}": "{n} 次均值",
    "95 % interval (t)": "95% 置信区间（t）",
    "held in (replications)": "满足的重复运行",
    "mean vs tolerance": "均值与容差",
    "† The interval is shown as computed: it reaches below 0 (or above 100 %), which the "
    "KPI cannot; with few or skewed replications the Student-t interval does so. Add "
    "replications to narrow it.":
        "† 区间按计算结果显示：它延伸到 0 以下（或 100% 以上），而该指标不可能取到这些值；重复运行"
        "次数少或分布偏斜时，学生 t 区间会出现这种情况。增加重复运行次数可使区间变窄。",
    "The verdict counts the replications in which every tolerance held together; the mean "
    "of a KPI can lie within its tolerance while too few replications hold it (and the "
    "other way round).":
        "结论统计的是所有容差同时满足的重复运行；某个关键绩效指标的均值可能在容差内，但满足它的"
        "重复运行太少（反之亦然）。",
    "The KPIs of {n} more products are in the results tables.":
        "另外 {n} 个产品的关键绩效指标见结果表。",
    # ------------------------------------------------------------------ details: curves
    "No KPI series in this folder (results.duckdb or series.parquet is missing).":
        "此文件夹中没有关键绩效指标时间序列（缺少 results.duckdb 或 series.parquet）。",
    "The KPI series hold no values.": "关键绩效指标时间序列没有数值。",
    "How the KPIs moved through the shock: the line is the mean over the replications per "
    "time bucket, the band its 95 % interval (cut at 0, and at 100 % for shares, where it "
    "reaches beyond); shaded: each shock's window (grey: the warm-up, not measured); dotted "
    "red: the tolerances. Read where the line leaves a tolerance and how long it takes to "
    "come back.":
        "关键绩效指标在冲击中的变化：曲线为每个时间段各次重复运行的均值，色带为其 95% 置信区间"
        "（超出 0 或比例超出 100% 处截断）；阴影为各冲击的时间窗（灰色：预热期，不计量）；红色"
        "虚线为容差。请看曲线何时越出容差、多久回到容差内。",
    "envelope": "包络",
    "{k} of {n}": "{n} 次中 {k} 次",
    "No shock occurred in this run.": "本次运行中没有发生冲击。",
    "type": "类型",
    "target (what it hit)": "作用对象",
    "layers touched": "涉及层级",
    "window (from the start)": "时间窗（自开始）",
    "severity": "严重程度",
    "occurred in": "发生于",
    "layer:physical": "物理层",
    "layer:logical": "逻辑层",
    "layer:semantic": "语义层",
    "Other events recorded": "记录的其他事件",
    "event": "事件",
    "count (all replications)": "次数（全部重复运行）",
    "Boxes from left to right:": "箱线从左到右：",
    "No KPI values to show.": "没有可显示的关键绩效指标数值。",
    "No KPI series in this folder, so no chart over time.":
        "此文件夹中没有关键绩效指标时间序列，因此没有随时间变化的图表。",
    "How much each KPI varies between replications: one point per replication, the box "
    "spans the middle half, the line is the median. A wide box or a point far out is a KPI "
    "the verdict is less sure of.":
        "各关键绩效指标在重复运行之间的波动：每个点代表一次重复运行，箱体覆盖中间一半，横线为"
        "中位数。箱体宽或有远离的点，说明结论对该指标把握较小。",
    "{objective} (minimised)": "{objective}（最小化）",
    "{objective} (maximised)": "{objective}（最大化）",
    "{k} non-dominated settings of {n} evaluated": "{n} 个已评估设置中的 {k} 个非支配设置",
    "{k} non-dominated settings": "{k} 个非支配设置",
    "{evaluated}: none of them can improve one objective without giving up another; grey "
    "dots are the settings tried on the way that are beaten by one on the front. Choose "
    "along the front by what an objective is worth to you.":
        "{evaluated}：其中任何一个都无法在不牺牲另一目标的情况下改进某一目标；灰点是搜索过程中"
        "试过、被前沿上某个设置超越的设置。请按各目标对您的价值沿前沿选择。",
    "setting": "设置",
    # ------------------------------------------------------------------ details: rules
    "No rule set was loaded or changed during the run of: {runs}.":
        "以下运行期间没有加载或变更规则集：{runs}。",
    "none": "无",
    "to": "变更为",
    "reason": "原因",
    "when (from the start)": "时间（自开始）",
    "replications": "重复运行次数",
    "of {n}": "/ {n}",
    "No lots were inspected around this change.": "此变更前后没有检验批次。",
    "units inspected per lot (mean)": "每批检验件数（均值）",
    "lots rejected (screened 100 %)": "拒收批次（100% 筛选）",
    "window length per replication": "每次重复运行的时间窗长度",
    "Lots inspected per replication: {change}": "每次重复运行检验的批次：{change}",
    "sampling plan (sample size n, severity)": "抽样方案（样本量 n，严格度）",
    "lots before (per replication)": "变更前批次（每次重复运行）",
    "lots after (per replication)": "变更后批次（每次重复运行）",
    "Lots inspected per replication under each sampling plan before and after the rule "
    "change: a shift to larger samples is the stricter plan at work, and the inspection "
    "load it adds.":
        "规则变更前后每次重复运行在各抽样方案下检验的批次：向更大样本量的转移说明更严格的方案"
        "正在生效，也显示了它增加的检验负荷。",
    "Switching between normal, tightened and reduced inspection": "正常、加严与放宽检验之间的转移",
    "times (all replications)": "次数（全部重复运行）",
    "Triggers fired": "触发的触发器",
    "trigger": "触发器",
    "condition": "条件",
    "normal": "正常",
    "tightened": "加严",
    "reduced": "放宽",
    # ------------------------------------------------------------------ details: quality
    "Supplier capability at incoming inspection (readings, all replications)":
        "来料检验中的供应商过程能力（读数，全部重复运行）",
    "characteristic": "特性",
    "lots": "批次",
    "readings": "读数",
    "Cpk (95 % interval)": "Cpk（95% 置信区间）",
    "Ppk (95 % interval)": "Ppk（95% 置信区间）",
    "Cpk with the pooled within-lot σ, Ppk with the overall σ (a drift between lots lowers "
    "Ppk, not Cpk); intervals by Bissell (1990).":
        "Cpk 采用合并的批内 σ，Ppk 采用总体 σ（批间漂移会降低 Ppk，不影响 Cpk）；区间按 "
        "Bissell (1990) 计算。",
    "Control-chart signals": "控制图信号",
    "chart": "控制图",
    "signal": "信号",
    "points (all replications)": "点数（全部重复运行）",
    "first (median)": "首次出现（中位数）",
    "Comparability studies (two one-sided tests)": "可比性研究（双单侧检验）",
    "source change": "来源变更",
    "studies": "研究次数",
    "outcomes": "结果",
    "difference of means (range)": "均值差（范围）",
    "margin": "界限",
    "equivalent": "等效",
    "not_equivalent": "不等效",
    "Gauge misclassification at incoming inspection (all replications)":
        "来料检验中的量具误判（全部重复运行）",
    "station": "工位",
    "units read": "测量件数",
    "false accepts": "误接收",
    "false rejects": "误拒收",
    "Process output (true values)": "过程输出（真值）",
    "units made": "生产件数",
    "out of limits": "超出规格",
    "Ppk (range over replications)": "Ppk（各次重复运行的范围）",
    # ------------------------------------------------------------------ quality system
    "Times are from the shock's onset in each replication. A single value is the same in "
    "every replication; otherwise the mean over the replications and its 95 % interval "
    "(Student t). Every number here is recomputed from the run's journal.":
        "时间从每次重复运行中冲击开始时计。单个数值表示每次重复运行都相同；否则为各次重复运行"
        "的均值及其 95% 置信区间（学生 t）。此处每个数字都由运行日志重新计算。",
    "{time} after the shock's onset ({k} of {n} replications)":
        "冲击开始后 {time}（{n} 次重复运行中的 {k} 次）",
    "not valid again by the horizon in {k} of {n} replications":
        "{n} 次重复运行中有 {k} 次至仿真结束仍未恢复有效",
    "ended after {time} ({k} of {n} replications)":
        "持续 {time} 后结束（{n} 次重复运行中的 {k} 次）",
    "still in force at the horizon in {k} of {n} replications":
        "{n} 次重复运行中有 {k} 次至仿真结束仍在生效",
    "Quality system valid again": "质量体系恢复有效",
    "Fallback in force": "降级规则生效",
    "What was invalidated": "失效的规则",
    "context": "上下文",
    "old → new": "原值 → 新值",
    "rules": "规则数",
    "kinds": "规则类别",
    "fallback": "降级方式",
    "invalidated (after the shock's onset)": "失效时间（冲击开始后）",
    "Response": "响应",
    "playbook": "预案",
    "started by": "触发事件",
    "latency": "响应延迟",
    "tasks": "任务数",
    "Work items": "工作项",
    "item": "工作项",
    "work": "工作类型",
    "pool": "资源池",
    "could start (after the onset)": "可开始时间（冲击开始后）",
    "finished (after the onset)": "完成时间（冲击开始后）",
    "finished in": "完成的重复运行",
    "Life tests": "寿命试验",
    "units": "样品数",
    "test hours → use hours": "试验小时 → 使用小时",
    "failures": "失效数",
    "criterion": "判据",
    "lower bound vs requirement": "置信下限与要求",
    "passed": "通过",
    "vs": "对比",
    "PASS": "通过",
    "FAILED": "未通过",
    "{failures} in {k} of {n}": "{n} 次中 {k} 次失效 {failures} 件",
    "{k} of {n} passed (run in {runs} of {reps} replications)":
        "{n} 项中 {k} 项通过（在 {reps} 次重复运行中的 {runs} 次进行）",
    "Quality backlog and the plant over time": "质量工作积压与工厂随时间变化",
    "quality backlog (tasks of open work items)": "质量工作积压（未完成工作项的任务数）",
    "under the fallback (share of replications)": "处于降级规则下（重复运行占比）",
    "fallback in force": "降级规则生效",
    "Top: quality-work tasks of the work items that could start and were not done yet (an "
    "item's tasks count until its last one is done, so this is an upper bound of the twin's "
    "per-task backlog; approvals of single units under a deviation fallback are not in it), "
    "and the share of replications running under the fallback; below: the plant's own KPIs "
    "over the same buckets. Mean over replications with its 95 % band. Read how long the "
    "backlog takes to clear and whether the plant's KPIs stay within tolerance meanwhile.":
        "上图：可以开始但尚未完成的工作项的质量工作任务数（工作项的任务一直计数到最后一项完成，"
        "因此这是孪生模型逐任务积压的上限；偏差放行降级下单件的审批不计入），以及处于降级规则下"
        "的重复运行占比；下图：同一时间段内工厂自身的关键绩效指标。各次重复运行的均值及其 95% "
        "色带。请看积压多久清空，以及期间工厂关键绩效指标是否保持在容差内。",
    "hold release": "暂停放行",
    "rule regeneration": "规则再生成",
    "rule review": "规则评审",
    "design review": "设计评审",
    "plan review": "计划评审",
    "compatibility check": "兼容性检查",
    "supplier qualification": "供应商资格认定",
    "comparability study": "可比性研究",
    "life test": "寿命试验",
    "deviation approval": "偏差审批",
    "capa": "纠正和预防措施",
    "release approval": "放行审批",
    "reliability": "可靠度",
    "full inspection": "全数检验",
    "deviation": "偏差放行",
    "b life": "B 寿命",
    # ------------------------------------------------------------------ provenance in full
    "scenario file": "场景文件",
    "scenario hash (SHA-256)": "场景哈希（SHA-256）",
    "Recorded data": "记录数据",
    "store": "数据库",
    "ingested file": "导入文件",
    "table": "表",
    "format": "格式",
    "SHA-256": "SHA-256",
    "rows read": "读取行数",
    "loaded": "导入行数",
    "quarantined": "隔离行数",
    "period": "时间段",
    "The scenario replays no recorded data.": "该场景不回放记录数据。",
    "Rule files": "规则文件",
    "rule file": "规则文件",
    "SHA-256 (content)": "SHA-256（内容）",
    "Results tables as the run wrote them": "运行写入的结果表",
    "SHA-256 (columns)": "SHA-256（列）",
    "The scenario loads no rule set.": "该场景不加载规则集。",
    "every result is as it was written (hash chains, headers and table digests recomputed)":
        "每个结果都与写入时一致（已重新计算哈希链、文件头和表摘要）",
    "the results changed after they were written, or cannot be verified":
        "结果在写入后被修改，或无法验证",
    "… and {n} more": "……另有 {n} 项",
    "results folder": "结果文件夹",
    "shocktwin version": "shocktwin 版本",
    "journal format": "日志格式",
    "status": "状态",
    "completed": "已完成",
    "scenario hash": "场景哈希",
    "journal hash": "日志哈希",
    "chain hash": "链哈希",
    "platform": "平台",
    "command line": "命令行",
    "started (UTC)": "开始（UTC）",
    "ended (UTC)": "结束（UTC）",
    "MTD scenario hash": "最大可容忍中断搜索的场景哈希",
    "MTD seed": "最大可容忍中断搜索的随机种子",
    "MTD runs the search needed": "最大可容忍中断搜索所需运行次数",
    "of them reused from an earlier search": "其中沿用先前搜索的次数",
    "optimisation scenario hash": "优化的场景哈希",
    "optimisation seed": "优化的随机种子",
    "optimisation runs": "优化运行次数",
    "stress gate chain hash": "压力门禁链哈希",
    # ------------------------------------------------------------------ charts
    "mean of {n} replications": "{n} 次重复运行的均值",
    "tolerance min": "容差下限",
    "tolerance max": "容差上限",
    "warm-up (not measured)": "预热期（不计量）",
    "shock {name}": "冲击 {name}",
    "(envelope over replications)": "（各次重复运行的包络）",
    "time ({unit})": "时间（{unit}）",
    "days": "天",
    "hours": "小时",
    "MTD (95 % interval)": "最大可容忍中断（95% 置信区间）",
    "tolerable severity per replication": "每次重复运行可容忍的严重程度",
    "evaluated": "已评估",
    "Pareto front": "帕累托前沿",
    "before the change": "变更前",
    "after the change": "变更后",
    "lots per replication": "每次重复运行的批次",
    "sampling plan": "抽样方案",
    "share": "比例",
    "duration": "持续时间",
    # ------------------------------------------------------------------ units
    "unit:d": "天",
    "unit:h": "小时",
    "unit:min": "分钟",
    "unit:s": "秒",
    # ------------------------------------------------------------------ KPI names
    "kpi:throughput_per_h": "每小时产出",
    "kpi:otd": "准时交付率",
    "kpi:release_lead_time_mean": "放行周期均值",
    "kpi:release_lead_time_p95": "放行周期 P95",
    "kpi:order_lead_time_mean": "订单周期均值",
    "kpi:release_sla_met": "放行时限达成率",
    "kpi:escaped_ppm": "漏检 ppm",
    "kpi:inspection_utilisation": "检验利用率",
    "kpi:wip_mean": "在制品均值",
    "kpi:scrap": "报废件数",
    "kpi:stockout_hours": "缺货小时数",
    "kpi:cost_per_unit": "单件成本",
    "kpi:time_to_valid_quality_system": "质量体系恢复有效时间",
    "kpi:quality_backlog_peak": "质量工作积压峰值",
    "kpi:quality_backlog_mean": "质量工作积压均值",
    "kpi:fallback_release_share": "降级放行比例",
    "kpi:release_time_p50": "放行时间 P50",
    "kpi:release_time_p95": "放行时间 P95",
}

#: plotly.js's toolbar and messages in zh-CN (registered as a plotly locale).
PLOTLY_ZH_CN: dict[str, str] = {
    "Autoscale": "自动缩放",
    "Box Select": "矩形选择",
    "Click to enter Colorscale title": "点击输入色阶标题",
    "Compare data on hover": "悬停时比较数据",
    "Double-click to zoom back out": "双击缩小回原视图",
    "Download plot as a png": "下载为 PNG 图片",
    "Download plot": "下载图表",
    "Lasso Select": "套索选择",
    "Pan": "平移",
    "Produced with Plotly.js": "由 Plotly.js 生成",
    "Reset axes": "重置坐标轴",
    "Reset view": "重置视图",
    "Show closest data on hover": "悬停时显示最近的数据",
    "Snapshot succeeded": "快照成功",
    "Sorry, there was a problem downloading your snapshot!": "抱歉，下载快照时出错！",
    "Taking snapshot - this may take a few seconds": "正在生成快照，可能需要几秒钟",
    "Toggle Spike Lines": "切换辅助线",
    "Zoom": "缩放",
    "Zoom in": "放大",
    "Zoom out": "缩小",
    "trace": "轨迹",
}
