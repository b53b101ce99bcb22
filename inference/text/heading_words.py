"""Words that tell where a run-in heading phrase ends and its sentence begins: verdicts for
the hand-written rule (segment.run_in_heading_end), features for the learned one (run_in)."""

from __future__ import annotations

import re


def _words(text: str) -> list[str]:
    return text.split()


# How a short heading phrase ends and how the sentence after it begins, read off the heading /
# body pairs of the corpus documents that have one paragraph a line. Category nouns end a
# heading surely (指导思想, 基本原则); other frequent heading ends also end subjects
# (…表彰工作严格执行…), so they count half.
HEADING_END_STRONG = frozenset(_words(
    "思想 原则 目标 要求 任务 措施 保障 领导 机制 体系 力度 意义 思路 方向 "
    "布局 格局 范围 对象 条件 程序 标准 职责 分工 回顾 安排 部署 总则 "
    "附则 依据 定义 目的 期限 步骤 阶段 要点 背景 现状 形势 内容 水平 能力 "
    "队伍 责任 考核 监督 宣传 概况 简介 说明"
))
HEADING_END_WEAK = frozenset(_words(
    "建设 工作 发展 管理 服务 政策 支持 作用 创新 改革 合作 投入 方式 落实 "
    "引导 评估 开放 提升 稳定 应用 框架 情况 活力 场景 问题 福祉 信息 结构 "
    "推进 振兴 安全 实施 战略 民生 行动 管控 优化 升级 动能 品质 主体 基础 "
    "效益 质量 效率 意识 制度 规划 组织 协调 督查 督导 人才 资金 经费 融资 "
    "金融 税收 用地 平台 载体 项目 产业 转化 成果 转移 培训 统筹 保护 治理 "
    "防控 整治 考评 激励 奖励 补贴 补助 优惠 扶持 配套 增长 负担 秩序 市场 "
    "体制 监管 机构 保险 生态 防治 力量 环境 重点 协调 工程 减少 降低"
))
BODY_START_STRONG = re.compile(
    r"全面|深入贯彻|认真贯彻|坚持|以习|到20\d\d|(?:19|20)\d\d年|今年|按照|根据|为了|"
    r"为落实|为进一步|为贯彻|为加快|为推动|为促进|各地|各级|各有关|各省|各市|各县|各部门|"
    r"各单位|要按照|要坚持|近年来|近几年|现阶段|目前|为确保|为做好|为保障|中央财政"
)
BODY_START_WEAK = _words(
    "深入 加强 加快 推进 推动 支持 鼓励 建立 完善 实施 落实 充分 进一步 积极 "
    "力争 围绕 聚焦 认真 切实 严格 强化 统筹 健全 优化 研究 制定 组织 开展 "
    "加大 重点 大力 面向 过去 我们 我国 针对 通过 当前 持续 依托 深化 扎实 "
    "继续 促进 牢固 坚定 经过 随着 面对 贯彻 高举 准确 着力 紧紧 始终 必须 "
    "本办法 本规定 本条例 本方案 本意见 对于 集中 确保 严禁 禁止 不得 应当 可以 引导 "
    "指导 国家 中央 国务院 市政府 省政府 县政府 党中央"
)
# A heading that is an order (强化统筹协调, 营造…良好发展环境), as most titles in a plan are.
DIRECTIVE = re.compile(
    r"加强|强化|加大|加快|推进|推动|完善|健全|提升|深化|优化|建立|促进|营造|实施|落实|做好|抓好|"
    r"坚持|扩大|提高|培育|构建|打造|夯实|规范"
)
# …and the sentence under it starts with an order of its own (not 落实情况…, 实施方案…).
DIRECTIVE_BODY = re.compile(
    r"加强|强化|加大|加快|推进|推动|着力|坚持|深入|积极|大力|鼓励|引导|建立|完善|健全|优化|统筹|"
    r"围绕|聚焦|依托|充分|切实|严格"
)
# A duty that opens a sentence with no subject of its own (应具备…, 宜配置…, 须经…); not 应用,
# 应急, 应对 (also a noun), nor 应上交的… (an attribute).
MODAL_START = re.compile(
    r"应当|应(?![用急对]|[^，,。；]{1,3}的)|宜(?=[采设配具建选按在由结使开做])|须|必须")
# A phrase that ends in who acts is a subject, not a heading: 四、你公司|应落实…
AGENT_END = re.compile(
    r"(?:企业|单位|部门|机构|政府|人|者|方|局|厅|委|院|中心|公司|学校|医院|各地|地方|党委|你们|"
    r"项目|用户|平台|银行|组织|协会|社会|群众|个人|我部|我局|我委|主体|双方|各方|地区|国家|省|市|县|区|州)$"
)
# A body never starts with these: they continue the phrase (…环境局要…, …工作的…).
SENTENCE_VERB = re.compile(r"应当|按照|依法|负责")
# …and so does a phrase in which an organ already acts: （五）生态环境部对…, 三、各地生态环境部门要…
AGENT_ACTS = re.compile(
    r"(?:(?<![外内全干])部|(?<![布格结当])局|厅|委|部门|政府|单位|企业|机构)(?:对|要|将|应|须|已|把|在)")
# Words that open a sentence, never end a heading phrase: 一、总体情况|截至2019年底…
OPENS_A_SENTENCE = ("截至", "截止")


def phrase_is_sentence(line: str, start: int, end: int) -> bool:
    """Whether ``line[start:end]``, a candidate heading phrase, already holds a sentence's verb
    (…按照职责权限…) or an organ acting (…生态环境部对…): then it, and any longer phrase, is no
    heading."""
    return bool(SENTENCE_VERB.search(line, start, end) or AGENT_ACTS.search(line, start, end - 1))


FUNCTION_CHARS = "和与及的等之了并或而中上下后前是要应须将，、：:局部厅委办院署司处科所站会"
# A heading phrase never ends where 小组/委员会… follows: that is a body's name running on
# (…国务院稀土领导|小组分别制定…: 领导 ends headings elsewhere), not a heading over a sentence.
NAME_CONTINUATION = ("小组", "委员会", "办公室", "工作组", "班子")
# A heading phrase never ends in these: 、 lists on, 和/与/及/或/并 join a second part, and
# 要/应/将/对/给/把… need the rest of their sentence (…各单位要|面向…, …分配给|…).
NOT_BEFORE_BODY = "、和与及或并的之等要应须将对给把被在向"
