"""Simplified-Chinese (zh-CN) labels of the report, shown next to the English ones.

The report is written in English; the sections listed here carry each heading and column
label in zh-CN too (``lang="zh-CN"`` on the element, so a reader's browser picks a CJK font
and a screen reader the right voice). A label without an entry is shown in English only.
"""

from __future__ import annotations

import html

__all__ = ["ZH_CN", "bilingual"]

#: English label -> zh-CN label.
ZH_CN: dict[str, str] = {
    "Quality system recovery": "质量体系恢复",
    "Quality system valid again": "质量体系恢复有效",
    "not valid again by the horizon": "至仿真结束仍未恢复有效",
    "Fallback in force": "降级规则生效",
    "What was invalidated": "失效的规则",
    "context": "上下文",
    "old → new": "原值 → 新值",
    "rules": "规则数",
    "kinds": "规则类别",
    "fallback": "降级方式",
    "reason": "原因",
    "invalidated (after the shock's onset)": "失效时间（冲击开始后）",
    "replications": "重复次数",
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
    "finished in": "完成的重复次数",
    "Life tests": "寿命试验",
    "supplier": "供应商",
    "units": "样品数",
    "test hours → use hours": "试验小时 → 使用小时",
    "failures": "失效数",
    "criterion": "判据",
    "lower bound vs requirement": "置信下限与要求",
    "passed": "通过",
    "Quality backlog and the plant over time": "质量工作积压与工厂随时间变化",
}


def bilingual(label: str) -> str:
    """``label`` as HTML: the English text, escaped, and its zh-CN label after it."""
    zh = ZH_CN.get(label)
    en = html.escape(label, quote=True)
    return en if zh is None else f'{en} <span lang="zh-CN" class="zh">{html.escape(zh)}</span>'
