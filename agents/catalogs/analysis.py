"""Words of the early-warning analysis page (预警研判) and of its alerts."""

WORDS = {
    "nav.analysis": ("预警研判", "Early warning"),
    "alert.kind.spike": ("诉求量异常", "Unusual appeal count"),
    "analysis.title": ("预警研判：近24小时诉求量异常", "Early warning: unusual appeal counts, last 24 hours"),
    "analysis.method": (
        "每小时按诉求类型和乡镇/街道统计，与前 {days} 天同类日（工作日/休息日）同一时段的平均数比较："
        "泊松上尾概率小于 {alpha} 除以当时检验的单元数（Bonferroni 校正），且不少于 {min_count} 件、"
        "不低于基线的 {ratio} 倍时预警；基线至少按每小时 {floor} 件计。",
        "Each hour, appeals by kind and area are compared with the mean of the same hour on the "
        "previous {days} days of the same type (working day / rest day): an alert when the "
        "Poisson upper-tail probability is below {alpha} divided by the cells tested that hour "
        "(Bonferroni), with at least {min_count} appeals and at least {ratio} times the "
        "baseline; the baseline is at least {floor} per hour."),
    "analysis.volume": ("整个时段诉求量明显高于平时时，各单元基线按其倍数上调。",
                        "When the whole hour is clearly busier than usual, every cell's "
                        "baseline is raised by that factor."),
    "analysis.volume_factor": ("含繁忙系数 ×{factor}", "busy-hour factor ×{factor}"),
    "analysis.runs": ("近24小时已分析 {hours} 个时段；最近一次 {last}，检验 {cells} 个单元，单元阈值 p < {threshold}。",
                      "{hours} hours analysed in the last 24; the latest {last}: {cells} cells "
                      "tested, per-cell threshold p < {threshold}."),
    "analysis.no_runs": ("近24小时尚无分析记录（分析任务未运行）。",
                         "No hour analysed in the last 24 (the analysis job has not run)."),
    "analysis.none": ("近24小时没有异常。", "Nothing unusual in the last 24 hours."),
    "analysis.hour": ("时段", "Hour"),
    "analysis.kind": ("诉求类型", "Kind"),
    "analysis.count": ("本时段件数", "Count"),
    "analysis.baseline": ("基线（件/时）", "Baseline (per hour)"),
    "analysis.ratio": ("倍数", "Ratio"),
    "analysis.p": ("泊松 p / 阈值", "Poisson p / threshold"),
    "analysis.history": ("基线各日同时段件数", "Same hour on the baseline days"),
    "analysis.alert": ("预警", "Alert"),
    "analysis.open": ("待处理", "Open"),
    "analysis.acknowledged": ("{who} 已处理", "Acknowledged by {who}"),
    "analysis.no_area": ("未填区域", "No area"),
}
