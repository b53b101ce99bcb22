"""Split cleaned text into clauses (GUIDELINES §1), with offsets, kind and section path.

Rules, in the guidelines' order:
1. split after 。！？； (and half-width forms) and at every line break;
2. never inside matched brackets or quotes, except that a bracketed note standing right
   after a sentence end (``（责任单位：市科技局）``) is its own clause;
3. never at ，、： nor inside numbers (``1.35亿元``);
4. an enumeration marker (``一、`` ``（一）`` ``1.`` ``（1）`` ``①`` ``第三条``) opens a new clause;
5. headings are clauses of kind ``heading`` and build the ``section`` path of what follows;
6. clauses are stripped; empty or punctuation-only ones are dropped.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import re
from collections import Counter
from dataclasses import dataclass

from inference.records import SECTION_SEPARATOR, Clause
from inference.text import run_in
from inference.text.docmeta import DOC_NUMBER, find_doc_number
from inference.text.heading_words import (
    AGENT_END,
    BODY_START_STRONG,
    BODY_START_WEAK,
    DIRECTIVE,
    DIRECTIVE_BODY,
    FUNCTION_CHARS,
    HEADING_END_STRONG,
    HEADING_END_WEAK,
    MODAL_START,
    NAME_CONTINUATION,
    NOT_BEFORE_BODY,
    OPENS_A_SENTENCE,
    phrase_is_sentence,
)


def _widened(pattern: str, *edits: tuple[str, str]) -> str:
    """``pattern`` with each (old, new) replaced once; an edit that finds nothing is an error,
    so a later change to the pattern cannot silently drop it."""
    for before, after in edits:
        if pattern.count(before) != 1:
            raise AssertionError(f"{before!r} occurs {pattern.count(before)} times in {pattern!r}")
        pattern = pattern.replace(before, after)
    return pattern


_OPEN_TO_CLOSE = {"（": "）", "(": ")", "《": "》", "“": "”", "‘": "’", "「": "」", "【": "】"}
_CLOSERS = set(_OPEN_TO_CLOSE.values())
_BRACKET = re.compile("[" + re.escape("".join(_OPEN_TO_CLOSE) + "".join(_CLOSERS)) + "]")
# Only these open a standalone note; a line may well start with 《…》 or a quotation.
_NOTE_OPENERS = set("（(【")
_SENTENCE_END = set("。！？；!?;")
_CN_NUM = "一二三四五六七八九十百零〇"
_CJK = "\u4e00-\u9fff"
# Units and measure words that follow a number: 3 个, 12 月, 20 万元 are quantities, not sections.
_COUNTED = "年月日时个家项万亿千百元条次人台名所批件处倍周天米吨亩户座种类"

# Enumeration markers, each with its level in the heading hierarchy (smaller = higher).
_MARKERS: list[tuple[int, re.Pattern[str]]] = [
    (0, re.compile(rf"第[{_CN_NUM}\d]+编")),
    (1, re.compile(rf"第[{_CN_NUM}\d]+章")),
    (2, re.compile(rf"第[{_CN_NUM}\d]+节")),
    (3, re.compile(rf"第[{_CN_NUM}\d]+条(之[{_CN_NUM}]+)?")),
    (3, re.compile(rf"[{_CN_NUM}]+、")),
    (4, re.compile(rf"[（(][{_CN_NUM}]+[）)]")),
    (5, re.compile(r"\d{1,2}[.．、](?!\d)")),
    # A standard's section number, a space, then its title: 1 范围, 2.1 显式水印标识 (not a
    # quantity: 3 个, 12 月)
    (5, re.compile(rf"[1-9]\d?(?:\.\d{{1,2}}){{0,3}}[ \u3000]+(?=[{_CJK}][^，,。；;：:]{{0,30}}$)"
                   rf"(?![{_COUNTED}])")),
    (6, re.compile(r"[（(]\d{1,2}[）)]")),
    (7, re.compile(r"[①-⑳]")),
]
_INNER_MARKER = re.compile(rf"(?<=[{_CJK}])(?:\d{{1,2}}[.．、]|[{_CN_NUM}]{{1,3}}、)(?=[{_CJK}])")
# A sub-item marker that a heading phrase runs into, where the heading's own scan stops (a space
# or a bracket): 预申请|1. 预申请…, 申请注意事项|（一）项目申请…, 工业软件技术|2.1 工业…
_INNER_SUBMARKER = re.compile(
    rf"(?<=[{_CJK}])(?:\d{{1,2}}[.．、][ \u3000]|\d{{1,2}}(?:\.\d{{1,2}}){{1,2}}[ \u3000]?"
    rf"|[（(](?:[{_CN_NUM}]{{1,3}}|\d{{1,2}})[）)](?![项款条目]))(?=[{_CJK}])")
_QUESTION_WORD = re.compile(r"吗|呢|么|是否|如何|怎|哪|谁|几|何|可否|能否")
_DIGIT_ITEM = re.compile(rf"(\d{{1,2}})[.．、](?=[{_CJK}])")
_MARKER_FIRST = frozenset("第（(①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳" + _CN_NUM)
_RUN_IN_MARKER = re.compile(rf"[（(][{_CN_NUM}]+[）)](?![项款条目])")
_PUNCT_ONLY = re.compile(rf"^[^{_CJK}A-Za-z0-9]*$")
_TITLE_SUFFIX = re.compile(
    r"(方案|通知|意见|办法|措施|计划|规定|决定|通告|公告|报告|条例|细则|纲要|规划|指引|要点|"
    r"总则|附则|分工表|安排表|一览表|清单|目录|技术要求|技术规范)$"
)
# A modal verb: what a subject must or should do (not 要求, 重要, 应用, 应急, 响应…).
_SENTENCE_MODAL = re.compile(
    r"(?<![供相适响对反效呼顺])应(?![用急]|对(?:措施|准备|处置|工作|机制|能力|气候|风险|挑战|。))|(?<![必无])须(?!知)|必须|(?<![主重需必纲摘只将提首])要(?![求点素害件])"
)
_BODY_HINTS = re.compile(r"万元|亿元|%|％|给予|不超过|奖励")
_HEADING_MAX = 40

# --- head and tail blocks (R3, R4) ----------------------------------------------------------
_DOC_TYPE = (
    r"通知|意见|方案|办法|措施|规定|决定|计划|报告|批复|函|公告|通告|纲要|细则|条例|规划|规则|"
    r"指南|指引|要点|通报|决议|命令|技术要求|技术规范"
)
_CN_DATE_NUM = "〇○零Ｏ一二三四五六七八九十"
_DATE = (
    rf"(?:(?:19|20)\d{{2}}|[{_CN_DATE_NUM}]{{4}})\s*年\s*(?:\d{{1,2}}|[{_CN_DATE_NUM}]{{1,3}})\s*月"
    rf"\s*(?:\d{{1,2}}|[{_CN_DATE_NUM}]{{1,3}})\s*日"
)
_ORG_SUFFIX = (
    "人民政府|政府|办公厅|办公室|委员会|部|厅|局|院|署|委|中心|小组|银行|党组|公司|协会|法院|检察院|"
    "处|司|站|所"
)
_ISSUER = rf"[{_CJK}（）()]{{2,40}}?(?:{_ORG_SUFFIX})"
# 附件 opening an attachment after a signature's date, not 附件 as a word of the sentence the
# date stands in (按照2020年3月1日附件1所列标准…)
_CN_NUMERAL = "[一二三四五六七八九十]"
# an attachment's number after 附件: 附件1, 附件 2, 附件二
_ATTACHMENT_NUMBER = rf"(?:\d{{1,2}}|{_CN_NUMERAL}{{1,3}})"
_WORD_AFTER_ATTACHMENT = "[所中的已为是将内与和及等]"  # 附件所列, 附件中, 附件1的…: a word
_ATTACHMENT_WORD = rf"附件(?![ \u3000]*{_ATTACHMENT_NUMBER}?{_WORD_AFTER_ATTACHMENT})"
# A whole clause that is a tail piece.
_TAIL_CLAUSE = re.compile(
    rf"(?:{_ISSUER}\s*)?{_DATE}(?:\s*印发)?|[{_CJK}]{{2,40}}印发|[（(](?:此件|本件|此文)[^）)]{{0,20}}[）)]"
    rf"|(?:部内)?抄送[:：].*|抄报[:：].*|{_ISSUER}|[（(][{_CJK}]{{2,30}}(?:代章|盖章)[）)]"
)
_DATE_ONLY = re.compile(rf"{_DATE}")
# Where a tail piece starts inside run-together text: a signature (issuer and date, or a date)
# after a sentence end, a note, a distribution line, a printed-on line.
_TAIL_START = re.compile(
    rf"(?P<sig>(?:(?P<issuer>{_ISSUER})\s*)?(?P<date>{_DATE}))(?P<after>\s*(?:印发)?)"
    rf"(?=$|[（(]|抄送|抄报|{_ISSUER}\s*{_DATE}|{_ATTACHMENT_WORD}|关于|字号|相关)"
    rf"|(?P<note>[（(](?:此件|本件|此文)[^）)]{{0,20}}[）)]|[（(][{_CJK}]{{2,30}}(?:代章|盖章)[）)])"
    rf"|(?P<cc>(?:部内)?抄送[:：]|抄报[:：])"
)
# Where a tail piece may start: the line start or after a sentence end or a closing bracket.
_PIECE_START = re.compile(
    r"(?:^|(?<=[。；！？!?;)）]))(?=.)|(?=[（(](?:此件|本件|此文))|(?<!部内)(?=抄[送报])|(?=部内抄送)"
    rf"|(?<=\d{{5}})(?=[{_CJK}])"  # a signature right after a phone number: …66556323生态环境部…
    rf"|(?:(?<=\.com)|(?<=\.cn))(?=[{_CJK}])"  # or an e-mail address: …@sina.com生态环境部…
    rf"|(?=[（(][{_CJK}]{{2,30}}(?:代章|盖章)[）)])"  # a seal note: （国家粮食局办公室代章）
)
# One issuer of a signature that names several (煤炭工业部山西省人民政府,
# 财　　政　　部国 家 物 价 局): letters with spaces between them, ending in an organ word.
_SPACED = "[ \u3000]*"
_ISSUER_PIECE = re.compile(
    rf"(?:[{_CJK}]{_SPACED}){{2,30}}?(?:"
    + "|".join(_SPACED.join(word) for word in (
        "人民政府", "委员会", "办公厅", "办公室", "总局", "部", "厅", "局", "院", "署", "委",
        "银行", "公司"))
    + ")"
)
# The same, read back from a signature run into the item before it: a ministry's department
# signs too (…联系人信息表|生态环境部生态环境监测司), though it never opens a run of issuers.
_SIGNING_PIECE = re.compile(_widened(_ISSUER_PIECE.pattern, ("司)", "司|司)")))
_NOT_ISSUER_START = frozenset("员会办政民府厅局部委院署处科室")
# How the name of a central organ, a ministry or a province's organ starts: where a signature
# issuer can begin when the text before it runs into it.
_PROVINCES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|"
    "湖南|广东|海南|四川|贵州|云南|陕西|甘肃|青海|内蒙古|广西|西藏|宁夏|新疆"
)
# A prefix of an organ's name that is not a name of its own: 国家|发展改革委, 山东省|科学技术厅
_ORGAN_PREFIX = re.compile(rf"国家|中华人民共和国|(?:{_PROVINCES})(?:省|市|自治区)")
# What ends an attachment's title, the last text before a signature that runs into it.
_ITEM_END = re.compile(
    r"(?:名单|说明|格式|情况|表|清单|目录|大纲|指南|方案|办法|通知|意见|规定|细则|要求|报告|材料|回执|模板|结果|"
    r"[）)》”])$"
)
_ORGAN_START = re.compile(
    r"国[ \u3000]*务[ \u3000]*院|国家|中共|中国|全国|中华人民共和国|最高人民"
    rf"|(?:{_PROVINCES})(?=省|市|自治区|维吾尔|壮族|回族|生产建设兵团)"
    r"|(?:外交|国防|教育|科学技术|科技|工业和信息化|公安|民政|司法|财政|人力资源和社会保障|"
    r"人力资源社会保障|自然资源|国土资源|生态环境|环境保护|住房和城乡建设|住房城乡建设|交通运输|"
    r"水利|农业农村|农业|商务|文化和旅游|卫生健康|退役军人事务|应急管理|审计|海关|市场监督管理|市场监管|"
    r"发展改革|发展和改革)(?=部|署|委|总局)"
)
_LONE_DATE = re.compile(
    rf"{_DATE}(?=[（(](?:此件|本件|此文)|$|相关|{_ATTACHMENT_WORD}|抄送|抄报|印发|{_ISSUER}\s*{_DATE})")
# 各省、自治区、直辖市人民政府，国务院各部委、各直属机构： / 河北省代表团： / 国务院：
_ADDRESSEE = re.compile(
    rf"(?:各|[{_CJK}][{_CJK}、（）()]{{0,80}}?(?:{_ORG_SUFFIX}|代表团|\d{{1,3}}位代表|代表|委员|同志|单位|"
    rf"大学|学校|医院|集团))"
    rf"[{_CJK}（）()、，, ]{{0,400}}?[：:]"
)

# The same, grouped by ；: longer, and each group checked apart (addressee_end): it ends in an
# addressee word, or in a bank's branch (…各分行、营业管理部，…城市中心支行；)
_BANK_BRANCH_END = re.compile(r"(?:支行|分行|总部)\s*$")
_ADDRESSEE_GROUPED = re.compile(_widened(
    _ADDRESSEE.pattern, ("{0,80}", "{0,200}"), ("{0,400}", "{0,800}"), ("、，, ]", "、，,；; ]")))
# An order signed by an official's title and name, and then its date (部长黄润秋2022年11月28日)
# (a name, not 办公会 or 会议), where the date ends the text or comes before a tail piece, a
# bracketed note or the title of what the order publishes (…办法第一条, 国务院关于…)
_OFFICIAL = (rf"(?:部长|署长|局长|主任|总理|省长|市长|县长|区长|主席)"
             rf"(?![{_CJK}]{{0,2}}[会议])[{_CJK}]{{2,3}}")
_SIGNED_BY_NAME = re.compile(
    rf"(?:(?<=[。；！？）)])|^)(?P<name>{_OFFICIAL})(?P<date>{_DATE})"
    rf"(?=$|[（(《]|抄[送报]|附件|关于|字号|相关|[{_CJK}]{{1,20}}?关于"
    rf"|[^。；，,：:]{{2,60}}?(?:{_DOC_TYPE})(?:[（(][^）)]{{1,10}}[）)])?(?:第[一1][条章]|总则|$))"
)
# The header row of a flattened table right after the table's title
_TABLE_HEADER = re.compile(
    rf"(?:(?<=名单|结果|清单)|(?<=览表|总表|息表|况表))序号"
    rf"(?=[{_CJK}][^。；，,]{{0,60}}?[{_CJK}）)]1(?![\d%％:：]|[.．]\d))"  # …its first row, 1…
)
# A title named in 《》 (…制定了《…着装管理规定》), and the first article or chapter of a text
_QUOTED_TITLE = re.compile(rf"《([^《》]{{4,60}}(?:{_DOC_TYPE})(?:[（(][^）)]{{1,10}}[）)])?)》")
# What the title of a published text stands after: a sentence's end, a note's bracket, the
# signature's date (…日) or its 印发 line (…发); not inside a sentence (依照…条例第一条规定…)
_BEFORE_ATTACHED_TITLE = frozenset("。；！？;!?）)日发")
# …附件二|, 附件2.|, 附件：|
_ATTACHMENT_LABEL_END = re.compile(r"附件\s*[一二三四五六七八九十\d]{0,3}\s*[.．、:：]?$")
_FIRST_PART = re.compile(r"(?:第[一1][条章]|总则)(?!规定|所称|的|中|明确|提出|指出|要求|之)")
# A masthead before the number or the title: issuers, the last with 文件 or 函
# (生态环境部办公厅|商务部办公厅文件|环办环评〔2022〕2号, …自然资源部办公厅函|关于…).
_MASTHEAD_END = re.compile(r"(?:文件|函)$")
_MASTHEAD_ISSUERS_CUT = 3
_NOT_MASTHEAD_START = re.compile(
    r"根据|按照|依据|依照|遵照|参照|对照|为|经|据|对|在|由|将|把|从|向|现|请")
_MASTHEAD_LINE = re.compile(rf"[{_CJK}（）()]{{2,200}}?(?:{_ORG_SUFFIX})(?:文件|函)")
# Contact lines and the attachment list run together in flat text: each is a clause.
_FIELD_START = re.compile(
    # not inside a longer label: 联系电话, 办公电话, 通讯地址, 电子邮箱 (a field that a comma
    # opens stays in its clause)
    r"(?<=[^\s、，,（(“《：:])(?<!联系)(?<!办公)(?<!咨询)(?<!值班)(?<!相关)(?=(?:联系单位|通讯地址|通信地址|联系地址|邮寄地址|联系人|联系电话|电话|传真|邮编|邮政编码|"
    r"电子邮箱|电子邮件|附件|解读"
    # the fields of a notice's or report's form: 报到地址：, 检查单位：, 受检单位：, 会议时间：
    r"|(?:检查|受检|报到|报名|申报|截止|会议|培训|活动)(?:单位(?:名称)?|日期|时间|地点|地址))\s*[:：])"
    # labels that also end longer ones (邮寄地址, 电子邮箱): only after a value that is not Chinese
    r"|(?<=[^\s、，,（(“《：:\u4e00-\u9fff])(?=(?:邮箱|地址|网址|手机)\s*[:：])"
)
# A decision's parties and a licence's fields (申请人：…住所：…被申请人：…, 持证单位：…发证机关：…):
# a clause each where a line holds two or more of them, a form; one alone is a sentence's
# (…并通知申请人：…)
_FORM_FIELD = re.compile(
    r"(?<=[^\s、，,（(“《：:])(?P<label>被申请人|(?<![被通知])申请人|(?<!人)住所|法定代表人|项目地址|"
    r"持证单位|注册地址|发证机关|发证日期|有效期限)\s*[:：]"
)
_FORM_FIELDS_MIN = 2
# The last characters of an organ's name (…局, …委员会, …中心, …公司, …综合司).
_ORGAN_END = frozenset("局部厅委院办处室会站所司心")
# Enactment lines under a statute's title: 2004年10月25日…第十五次会议通过, (2021年3月11日…通过)
_ENACTMENT_WORDS = r"通过|批准|公布|施行|修正|修订|发布"
_ENACTMENT = re.compile(
    rf"[（(]?{_DATE}[^。；]{{0,160}}?(?:{_ENACTMENT_WORDS})"
    rf"(?:的[^。；]{{0,120}}?(?:修正|修订))?[）)]?"
)
_ENACTMENT_DATE = re.compile(
    rf"(?<=通过|批准|公布|施行|修正|修订|规定|条例|办法|决定|决议)[（(]?{_DATE}"
)
_AS_FOLLOWS = re.compile(r"如下(?:工作|事项|意见|要求|几点|内容|措施)?[:：]+(?=.)")
# An addressee line ends in the name of an organ, a body or people, or a bracketed note:
# …各直属机构：, 河北省代表团：, …生态环境厅（局）：, 各位同志：
_ADDRESSEE_END = re.compile(
    rf"(?:{_ORG_SUFFIX}|机构|单位|部门|企业|集团|代表团|代表|委员|同志|团体|学校|高校|大学|医院|"
    rf"兵团|院校|[）)])\s*[：:]$"
)
# An attachment's label before its title: 附件1征求意见单位名单
_ATTACHMENT_LABEL = re.compile(r"(?:^|(?<=[。；！？!?;）)]))附件\s*\d{1,2}(?=[\u4e00-\u9fff])")
# The same right after a signature's date or its 印发 line, where a label with no number or a
# Chinese one is a label too: …2018年6月7日|附件1|征求意见单位名单, …印发|附件|第六批…名单,
# …二月十六日|附件二|关于发行…, …8月22日|附件|2020年度重点行业…
# Not a label: 附件 as a word of the sentence (附件所列…, 附件中…, 附件十分…), or a numeral that
# counts something (附件二十三项…: 附件 | 二十三项…).
_SIGNED_ATTACHMENT_LABEL = re.compile(
    rf"附件[ \u3000]*(?:\d{{1,2}}(?!\d)"
    rf"|{_CN_NUMERAL}{{1,3}}(?!{_CN_NUMERAL}|[项条个分大年件次批]))?"
    rf"(?!{_WORD_AFTER_ATTACHMENT}|作|十分)(?=[\u4e00-\u9fff]|\d{{4}}年)")
# The note under a list of the units consulted, run into its last row:
# …30.福建森源家具有限公司|（部内征求政法司、科技司…意见）
_INTERNAL_CONSULTATION = re.compile(r"[（(](?=部内征求[^（）()]*意见[）)])")
# A clause that is an attachment's label and nothing else: the clause after it is its title
_ATTACHMENT_LABEL_CLAUSE = re.compile(rf"附件[ \u3000]*{_ATTACHMENT_NUMBER}?")
_TITLE_MAX = 60
# A list of organs' names run together under a title that names them (…单位名单国家发展改革委…)
_NAME_LIST = re.compile(r"名单(?=国|中|各|全|最)")
_NAME_LIST_MAX = 1000
# A list of places under its title (…名单（100个）北京市海淀区…): rows start at a province.
_PLACE_LIST = re.compile(r"名单(?:[（(]\d{1,4}个[）)])?")
_PROVINCE_START = re.compile(
    rf"(?:{_PROVINCES})(?:省|市|自治区|壮族自治区|回族自治区|维吾尔自治区)|新疆生产建设兵团")
_PLACE_END = frozenset("区县市旗州盟")
_PLACE_LIST_END = re.compile(r"[。；;：:！？!?]")
# Numbered items run together after a name (…有限公司2.中国石化…), in flat text only.
_ITEM_IN_TEXT = re.compile(rf"(?<=[{_CJK}）)])(\d{{1,2}})[.．](?=[{_CJK}])")
_RUN_ITEM_MAX = 60
_LIST_LABEL = re.compile(rf"(?:解读|相关链接)[:：](?=1[.．][{_CJK}])")
# A bare row number: after a Chinese character or a closing bracket, before what is not a digit
# or a decimal point (…贵池区117.248… is a coordinate, not row 117).
# (not a cited attachment or article: …（见附件1）…, 第1批)
_BARE_ROW_NUMBER = re.compile(rf"(?<=[{_CJK}）)])(?<!附件)(?<!第)(\d{{1,3}})(?![\d.．%％:：])")
# A 1 that counts (1个, 1名, 1家…) or closes a citation (…附1）) starts no run of rows; inside a
# run a row may open on such a word (6项建英…, 2日照市)
_COUNTED_ONE = re.compile(r"1[个名家人次批件）)]")
_ROW_MAX = 160
_ROWS_MIN = 5
_OPEN_RUNS_MAX = 4
# An attachment list that runs together: 附件：1.…
_ATTACHMENTS = re.compile(r"附件[:：]\s*1[.．、]")
_ATTACHMENT_ITEM_MAX = 150
# A title with no number and no addressee line, run into the first sentence or section:
# 关于…意见的函为进一步发挥…, …技术要求一、工作频率范围.
_BODY_AFTER_TITLE = re.compile(
    r"为进一步|为贯彻|为落实|为加快|为推动|为促进|为加强|为深入|为了|根据|按照|依据|经研究|近年来|"
    r"现将|现就|现印发|现予|现公开|当前|目前"
)
# The first article or chapter after a statute's enactment lines: …修正）第一条 为…
_FIRST_ARTICLE = re.compile(r"(?:(?<=[）)])|(?<=通过|修正|修订|施行|公布|批准))第[一1][条章]")
_NOT_ADDRESSEE = re.compile(
    # (研究室, 经济委员会: organs' names, not a sentence)
    r"如下|现将|现就|通知|规定|决定|要求|提出|根据|为了|经(?![济贸信营])|研究(?![室院所会中])|同意|的|批复"
    # a form's field, not who the document is sent to: 检查单位：国家核安全局
    r"|(?:检查|受检|报到|报名|申报|主办|承办|协办)单位\s*[:：]"
)
_TITLE_END = re.compile(rf"(?:{_DOC_TYPE})(?:[（(][^）)]{{1,20}}[）)])?")
_TITLE_END_HERE = re.compile(rf"(?:{_DOC_TYPE})(?:[（(][^）)]{{1,20}}[）)]){{0,2}}$")
_HEAD_WINDOW = 300
# A line this long holds several paragraphs run together.
_RUN_TOGETHER_LINE = 300

# --- run-in headings (R2) -------------------------------------------------------------------


_ACTION = re.compile(r"开展|积极|进一步|加以|予以")
_HEADING_PHRASE_MAX = 30
_RUN_IN_WINDOW = 600
# A sentence that opens with who acts: an organ or party, then what it does.
_AGENT_BODY = re.compile(
    rf"(?:各|相关|有关|本|我|生态环境|国家|中央|国务院|地方|营运|建设|项目|申报|试点|{_PROVINCES})"
    rf"[{_CJK}]{{0,12}}?(?:部|局|厅|委员会|单位|企业|部门|机构|政府|中心|公司)"
    r"(?:负责|要|应|将|针对|批准|组织|已|按照|会同|加强|积极|开展|认真|切实|不断|进一步|共同|"
    r"分别|定期|牵头|依法|统筹|制定|印发|发布|提出|落实|推动|推进|做好|充分|高度)")
# …and the phrase before it ends where any heading phrase may, and not in 由 either (各地区和|
# 各有关部门要…, …会同市场监管总局对|各级…, …由|…负责).
_NOT_BEFORE_AGENT = NOT_BEFORE_BODY + "由"
# Heading ends that take who acts as their object: 鼓励和支持|地方政府开展… is one sentence
# (技术支持|生态环境部负责… is not: a noun before the verb makes the two a noun).
_TAKES_AGENT = frozenset(("支持", "鼓励", "指导", "要求", "督促", "推动", "组织", "动员",
                          "帮助", "协助", "允许", "会同", "委托", "授权", "配合", "依托", "联合",
                          "推进", "促进", "激励", "带动", "通知"))
# A notice's short topics whose value follows them: 培训时间, 报到地点, 截止日期
_TOPIC_END = frozenset(("时间", "地点", "日期"))
# Sentences that open on a character that elsewhere only continues a phrase (上, 下):
# 二、有关要求|上述城市的国控站点…
_BODY_OPENS_ON_FUNCTION_CHAR = ("上述", "上年", "上半年", "下半年", "下一步")
# 的 after a noun that ends in 目 is a particle, not the word 目的 (purpose): 项目的性质
_NOT_A_PHRASE_END = re.compile(r"[项节题科栏条数]目的")
# A range or an area that its 内/外 continues: …200米范围内…, …区域内…
_PLACE_RUNS_ON = tuple(f"{word}{side}" for word in ("范围", "区域", "期限", "辖区")
                       for side in "内外")
# A body that opens on a full date (the report of an event), and what no title ends in before
# one: 到/至/于/自/从/截至/为…2025年 runs on (力争到2025年…, 提交时间为2020年…)
_DATED_BODY = re.compile(r"\d{4}年\d{1,2}月")
_NOT_BEFORE_DATE = NOT_BEFORE_BODY + "到至于自从止前后起截为是"
# The rest of an organ's name, read after a phrase that already names an organ: （二）生态环境部
# 宣传|教育中心 is one name (a contact entry), not a title and its body
_ORGAN_IN_PHRASE = re.compile(r"(?<![内全局干])[部厅局委](?![门署分])[\u4e00-\u9fff]{0,3}$")
_ORGAN_NAME_REST = re.compile(r"(?!各)[\u4e00-\u9fff]{1,4}?(?:中心|司|局|处|院|所|站|室)")
_HEADING_PHRASE_MAX_GUAN_YU = 45  # 一、关于…的建议: replies to proposals carry long headings
# How the sentence under a reply's 关于 topic opens: when, why, or who (not 各…: 关于…各省区…
# is still the topic).
_GUAN_YU_BODY = re.compile(
    r"近年来|近几年|现阶段|目前|当前|为确保|为做好|为保障|为进一步|为贯彻|为落实|为加快|为推动|"
    r"为促进|为了|党中央|中央财政|我部|我国|今年|(?:19|20)\d\d年"
)
_SENTENCE_OR_BREAK = re.compile(r"[，,。；;：:！？!?（(“《\s]")
_BODY_CLAUSE_END = re.compile(r"[。；;！？!?]")


_SECTION = re.compile(rf"([{_CN_NUM}]{{1,3}})、(?=[{_CJK}])")
# Where 一、 ends a word (统一、规范, 之一、) rather than opening a first section.
_NOT_BEFORE_FIRST = frozenset("统唯之第万同专逐单划均合归不如初十周惟一")
_ENDS_IN_TONG = frozenset(("系统", "传统", "总统", "血统", "正统"))  # 系统|一、 is not 统一
_SECOND_SECTION = re.compile(rf"(?<=[{_CJK}。；）)])二、(?=[{_CJK}])")
_SECTION_IN_TEXT = re.compile(rf"(?<=[{_CJK}）)])[{_CN_NUM}]{{1,3}}、(?=[{_CJK}])")
_CN_DIGITS = {ch: value for value, ch in enumerate("零一二三四五六七八九")}
# An enumeration marker that a field label follows (（一）联系人：…): the field is the item's text.
_MARKER_BEFORE = re.compile(
    rf"(?:[（(](?:[{_CN_NUM}]{{1,3}}|\d{{1,2}})[）)]|\d{{1,2}}[.．、]|[{_CN_NUM}]{{1,3}}、)$")


def _section_number(numeral: str) -> int:
    """一 → 1, 十二 → 12, 二十一 → 21; 0 for what is not a number up to 99."""
    tens, ten, units = numeral.partition("十")
    if not ten:
        return _CN_DIGITS.get(numeral, 0) if len(numeral) == 1 else 0
    high = _CN_DIGITS.get(tens, 0) if tens else 1
    low = _CN_DIGITS.get(units, 0) if units else 0
    return high * 10 + low if high and len(tens) <= 1 and len(units) <= 1 else 0


def marker_at(text: str, pos: int = 0) -> tuple[int, str] | None:
    """(level, marker) if an enumeration marker starts at ``pos``."""
    if pos >= len(text) or not (text[pos] in _MARKER_FIRST or text[pos].isdigit()):
        return None
    for level, pattern in _MARKERS:
        match = pattern.match(text, pos)
        if match:
            return level, match.group(0)
    return None


def _matched_brackets(line: str) -> dict[int, int]:
    """{opener index: closer index} for brackets that are properly closed in the line.

    Unmatched brackets (crawls truncate and garble) protect nothing, so they cannot swallow
    the rest of a line.
    """
    pairs: dict[int, int] = {}
    stack: list[tuple[int, str]] = []
    for found in _BRACKET.finditer(line):
        index, ch = found.start(), found.group(0)
        if ch in _OPEN_TO_CLOSE and not (ch == "‘" and stack and stack[-1][1] == "‘"):
            stack.append((index, ch))
        elif ch in _CLOSERS:
            for depth in range(len(stack) - 1, -1, -1):
                if _OPEN_TO_CLOSE[stack[depth][1]] == ch:
                    pairs[stack[depth][0]] = index
                    del stack[depth:]
                    break
    return pairs


def title_suffix(text: str) -> str | None:
    """The document type a title ends in (通知, 方案…), or None."""
    match = _TITLE_SUFFIX.search(text)
    return match.group(0) if match else None


def _starts_word(text: str, pos: int, words: list[str]) -> bool:
    return any(text.startswith(word, pos) for word in words)


def run_in_heading_end(line: str, start: int, *, min_score: int = 3,
                       openers: SentenceOpeners | None = None) -> int | None:
    """Where the short heading phrase after the enumeration marker at ``start`` ends when a
    sentence follows it with no break (``（一）指导思想全面贯彻…``: after ``指导思想``), or None.

    Article markers (第X条) keep their text. A 第X章/节 heading ends before the 第X条 that
    follows it. ``min_score`` is how sure the word lists must be (3; 2 where the marker's
    siblings are run-in headings, ``_sibling_headings``). ``openers``: how the line's own
    sentences begin (``SentenceOpeners``), read as a sentence's start as the word lists are.
    """
    found = heading_phrase_start(line, start)
    if found is None:
        return None
    level, phrase_start = found
    if level < 3:
        article = re.compile(rf"第[{_CN_NUM}\d]+条").search(
            line, phrase_start, phrase_start + _HEADING_PHRASE_MAX + 3)
        if article and article.start() > phrase_start:
            return article.start()
    # Searches stay within a window, so text with no sentence end costs no more per marker
    # (a run-together line of markers would make them quadratic).
    window_end = min(len(line), phrase_start + _RUN_IN_WINDOW)
    stop = _SENTENCE_OR_BREAK.search(line, phrase_start, window_end)
    stop_at = stop.start() if stop else window_end
    inner = _INNER_MARKER.search(line, phrase_start + 2, min(stop_at, phrase_start + 41))
    inner_at = inner.start() if inner else _inner_submarker(line, start, phrase_start, stop_at)
    if inner_at is not None:
        # （一）加强…标准化建设1.完善标准规范体系。: the next marker ends the heading
        return inner_at
    longest = _HEADING_PHRASE_MAX_GUAN_YU if line.startswith("关于", phrase_start) else (
        _HEADING_PHRASE_MAX)
    best, best_score, best_opens = None, 0, False
    for end in range(phrase_start + 2, min(stop_at - 2, phrase_start + longest) + 1):
        modal = level == 3 and MODAL_START.match(line, end) is not None
        topic = line[end - 2:end] in _TOPIC_END and end - phrase_start <= 8 and (
            line[end] not in "和与及或并、等的为是于")
        if (line[end] in FUNCTION_CHARS and not (
            modal or topic or line.startswith(_BODY_OPENS_ON_FUNCTION_CHAR, end)
        )) or line[end - 1] == "、":
            continue
        if _NOT_A_PHRASE_END.match(line, end - 3) or line.startswith(_PLACE_RUNS_ON, end - 2) or (
            line[phrase_start] in "你您" and end - phrase_start <= 4
        ):
            # 四、项目的|性质… (目的 inside 项目的), …200米范围|内存在…, 六、你所|应在…: a
            # particle, a place's range or a pronoun subject, not a heading's last word
            continue
        if line.startswith(NAME_CONTINUATION, end) or (
            _ORGAN_NAME_REST.match(line, end)
            and _ORGAN_IN_PHRASE.search(line[phrase_start:end]) is not None
        ):
            continue
        ending = line[end - 2:end]
        score = 2 if ending in HEADING_END_STRONG else 1 if ending in HEADING_END_WEAK else 0
        # not after a verb's first word (二、举办|国家主场活动…)
        opener = openers is not None and end - phrase_start >= 4 and openers.open_at(line, end)
        if BODY_START_STRONG.match(line, end) or opener:
            score += 2
        elif _starts_word(line, end, BODY_START_WEAK):
            score += 1
        sentence_end = _BODY_CLAUSE_END.search(line, end, window_end)
        body = line[end:sentence_end.start() if sentence_end else window_end]
        has_comma = "，" in body or "," in body
        if not has_comma and len(body) < 15:
            continue  # 5.支持社会力量举办婴幼儿照护服务机构。: one short sentence
        strong_start = BODY_START_STRONG.match(line, end) is not None
        if line.startswith("关于", phrase_start) and _GUAN_YU_BODY.match(line, end) and (
            len(body) >= 10 and _is_cjk(line[end - 1]) and "是" not in line[phrase_start:end]
        ):
            # 二、关于加强飞行监测|为确保…: a reply's 关于 topic, then a sentence opener
            score = max(score, 4)
        if stop_at - end < 6 and not strong_start and not (
            topic and stop_at - end >= 2 and line[stop_at] in "（("
        ):
            # (三) 强化宣传引导,营造良好氛围。: the phrase runs on to the comma; but a topic's
            # value may hold a bracket (二、培训地点|格林美（武汉）城市矿产循环产业园)
            continue
        if score == 2 and ending in HEADING_END_STRONG and stop_at - end >= 10 and has_comma and (
            line[end:end + 2] not in HEADING_END_STRONG | HEADING_END_WEAK
        ):
            score = 3  # （二）建设现状乌海能源公司…建设，… (not …职责|权限…: one compound)
        if phrase_is_sentence(line, phrase_start, end):
            continue  # （十九）司法行政机关按照职责权限…: the phrase is already a sentence
        if line.startswith(OPENS_A_SENTENCE, end - 2):
            continue  # 一、总体情况|截至2019年底…: 截至 opens the sentence, not ends a title
        if 1 <= score < 3 and end - phrase_start >= 4 and _AGENT_BODY.match(line, end) and (
            line[end - 1] not in _NOT_BEFORE_AGENT
            and not _AGENT_BODY.search(line, phrase_start, end)
            and not AGENT_END.search(line, phrase_start, end) and not (
                line[end - 2:end] in _TAKES_AGENT
                and (end - phrase_start <= 4 or line[end - 3] in "和与及、并"))
        ):
            # （二）强化技术支持|生态环境部负责…, （一）质量保证体系运转情况|营运单位针对…: a title,
            # then a sentence whose subject is who acts
            score = 3
        if topic and score < 3:
            score = 3  # 一、培训时间|2019年10月21日至25日…: a notice's topic and its value
        elif score < 3 and end - phrase_start >= 4 and _DATED_BODY.match(line, end) and (
            line[end - 1] not in _NOT_BEFORE_DATE
        ):
            score = 3  # 三、检查活动|2022年2月14日至16日，国家核安全局…: a report opens on a date
        phrase = line[phrase_start:end]
        if len(phrase) >= 4 and (line.startswith(phrase, end) or line.startswith(phrase, end + 2)):
            score = 4  # （一）产业基础创新工程实施产业基础创新工程，…: the body repeats it
        elif best is None and _common_prefix(phrase, line, end) >= 7 and not (
            _SENTENCE_MODAL.search(phrase)
        ):
            # 三、候选先进集体、先进个人推荐受理候选先进集体、先进个人由…: or its first words
            score = 3
        elif modal and 2 <= len(phrase) <= 12 and not (
            AGENT_END.search(phrase) or DIRECTIVE.search(phrase) or _ACTION.search(phrase)
        ):
            # 三、电源应具备…: a topic, then the duty about it with no subject of its own
            # (a standard's sections); 四、你公司应落实… has its subject, and stays whole
            score = 3
        elif score == 2 and ending in HEADING_END_WEAK and DIRECTIVE.match(phrase) and (
            DIRECTIVE_BODY.match(line, end) and len(body) >= 10
        ):
            # a directive title, then a directive sentence: （一）强化统筹协调加强部门协同，…
            score = 3
        if score >= min_score and (score > best_score or (score == best_score and not (
            best_opens or opener
        ))):
            # a later end wins a tie, unless one of the two is where the line's sentences
            # open: the earlier stays (（三）系统调试|福建福清核电厂6号机组首次…, not
            # …6号机组|首次…; 二、举办国家主场活动|2021年…国家主场活动将由|生态环境部…)
            best, best_score, best_opens = end, score, opener
    return best


def _inner_submarker(line: str, start: int, phrase_start: int, stop_at: int) -> int | None:
    """Where a sub-item marker that the heading phrase runs into starts, when the phrase's
    scan stopped at it (a space or a bracket is part of the marker): ``预申请|1. 预申请…``,
    ``申请注意事项|（一）项目…``, ``工业软件技术|2.1 工业…``."""
    found = _INNER_SUBMARKER.search(line, phrase_start + 2, min(len(line), stop_at + 12))
    if found is None or found.start() > min(stop_at, phrase_start + 40):
        return None
    dotted = re.match(r"(\d{1,2})\.\d", found.group(0))
    if dotted and not found.group(0).endswith((" ", "\u3000")) and not (
        line.startswith(dotted.group(1), start) and not line[start + len(dotted.group(1))].isdigit()
    ):
        return None  # 增长2.1个…is a number; 3.1 after a heading numbered 3. is its first item
    return found.start()


def heading_phrase_start(line: str, start: int) -> tuple[int, int] | None:
    """(marker level, where the phrase after it starts) for the enumeration marker at
    ``start``, or None: no marker, or an article marker (第X条 keeps its text)."""
    marker = marker_at(line, start)
    if marker is None:
        return None
    level, mark = marker
    if level == 3 and mark.startswith("第"):
        return None
    phrase_start = start + len(mark)
    while phrase_start < len(line) and line[phrase_start] == " ":
        phrase_start += 1
    return level, phrase_start


def learned_run_in_end(line: str, start: int) -> int | None:
    """Where the learned model (run_in) ends the heading phrase after the marker at
    ``start``, or None when it sees no run-in heading there."""
    found = heading_phrase_start(line, start)
    if found is None:
        return None
    level, phrase_start = found
    model = run_in.active_model()
    return None if model is None else model.best_end(line, phrase_start, level)


def _common_prefix(phrase: str, line: str, pos: int) -> int:
    """How many characters ``phrase`` and ``line[pos:]`` share at their start."""
    count = 0
    for a, b in zip(phrase, line[pos:pos + len(phrase)], strict=False):
        if a != b:
            break
        count += 1
    return count


def addressee_end(line: str, pos: int = 0, *, semicolons: bool = False) -> int | None:
    """End (after the colon) of an addressee line starting at ``pos``, or None; with
    ``semicolons``, also one whose list is grouped by ；
    (…生态环境厅；内蒙古自治区满洲里市，…：)."""
    match = (_ADDRESSEE_GROUPED if semicolons else _ADDRESSEE).match(line, pos)
    if match is None or _NOT_ADDRESSEE.search(match.group(0)):
        return None
    groups = re.split("[；;]", match.group(0))
    if any(not (_ADDRESSEE_END.search(group.rstrip() + "：") or _BANK_BRANCH_END.search(group))
           for group in groups[:-1]):
        return None  # …按时上报材料；逾期不报…：: sentences, not groups of addressees
    if not (match.group(0).startswith("各") or _ADDRESSEE_END.search(match.group(0))):
        return None  # the colon closes a label (…有限公司解读：), not a list of addressees
    return match.end()


def _head_boundaries(line: str, protected: list[bool]) -> set[int]:
    """Cuts in a run-together head: masthead | title | 国发〔2011〕12号 | 各省…： | body."""
    cuts: set[int] = set()
    window = line[:_HEAD_WINDOW]
    number = find_doc_number(window)
    masthead = _masthead(window, number)
    cuts.update(masthead)
    start = max(masthead, default=0)
    if start:
        number = find_doc_number(window[start:])  # the number after the masthead
    number_at = window.find(number, start) if number else -1
    if number and start <= number_at <= start + 120 and not protected[number_at] and (
        number_at == start or _TITLE_END_HERE.search(window, start, number_at)
    ) and not re.search("[。，,；]", window[start:number_at]):
        cuts.update((number_at, number_at + len(number)))
        head_end = number_at + len(number)
        if number_at == start and (
            title_end := _title_before_addressee(line, head_end, semicolons=True)
        ):
            cuts.add(title_end)  # …文件|环办环评〔2022〕2号|关于印发…的通知|各省…：
            head_end = title_end
    else:
        head_end = (_title_before_addressee(line, start, semicolons=True)
                    or _title_before_body(line, start) or start)
        cuts.add(head_end)
    end = addressee_end(line, head_end)
    if end is None and (end := addressee_end(line, head_end, semicolons=True)) is not None:
        # A long addressee list grouped by ；: one clause, so its ； must not end a sentence.
        for index in range(head_end + 1, end):
            protected[index] = True
    if end is not None and end < len(line):
        cuts.add(end)
    article = _FIRST_ARTICLE.search(line, 0, 2 * _HEAD_WINDOW)
    if article and _ENACTMENT.search(line, 0, article.start()):
        cuts.add(article.start())
    for date in _ENACTMENT_DATE.finditer(line, 0, 2 * _HEAD_WINDOW):
        # 青岛市专利保护规定2004年10月25日…通过2004年11月25日…批准: one line each
        cuts.add(date.start())
        if line[date.start()] in "（(":
            closer = line.find("）" if line[date.start()] == "（" else ")", date.start())
            if closer > 0:
                cuts.add(closer + 1)
    return {cut for cut in cuts if 0 < cut < len(line) and not protected[cut]}


def _masthead(window: str, number: str | None) -> list[int]:
    """Cuts after each issuer of a masthead that opens ``window`` and after the masthead, or
    none: it ends in 文件 or 函 right before the document number (``number``, what
    ``find_doc_number`` found in the window) or a 关于 title."""
    ends = [at for at in (window.find(number) if number else -1, window.find("关于")) if at > 0]
    if not ends:
        return []
    end = min(ends)
    suffix = _MASTHEAD_END.search(window, 0, end)
    if suffix is None:
        return []
    names = window[:suffix.start()]
    if _NOT_MASTHEAD_START.match(names):
        return []  # 根据市委文件关于…的要求: a sentence citing a document, not a masthead
    starts = _issuer_run(names) or ([0] if _ISSUER_PIECE.fullmatch(names) else None)
    if not starts:
        return []
    # Two or three issuers are a clause each (生态环境部办公厅|商务部办公厅文件); a longer list
    # is one masthead line, where a wrong parse would cut a name (中国银行|保险监督管理委员会).
    return [*starts[1:], end] if len(starts) <= _MASTHEAD_ISSUERS_CUT else [end]


def _title_before_addressee(line: str, pos: int, *, semicolons: bool = False) -> int | None:
    """End of a title (关于…的报告) starting at ``pos`` that an addressee line follows (with
    ``semicolons``, also one grouped by ；)."""
    if line.startswith("各", pos):
        return None  # 各省、自治区、直辖市及计划单列市…: an addressee line, not a title
    found = None
    for title_end in _TITLE_END.finditer(line, pos, pos + 100):
        if re.search("[。，,；：:]", line[pos:title_end.end()]) or title_end.end() - pos < 6 or (
            line.startswith("书", title_end.end())  # 行政处罚决定书（…案）: the title goes on
            or line.startswith("单列", title_end.end())  # …直辖市、计划单列市…: an addressee
        ):
            continue
        if addressee_end(line, title_end.end(), semicolons=semicolons):
            found = title_end.end()  # the last one: …环境影响报告书的批复 成都原水投资有限公司：
    return found


def _title_before_body(line: str, pos: int = 0) -> int | None:
    """End of a title that opens ``line`` at ``pos`` and runs straight into the first sentence
    or the first section (no number, no addressee line between them), or None. The title ends
    in a document type and holds no sentence punctuation: ``关于…意见的函`` | ``为进一步发挥…``,
    ``…管理办法`` | ``《…管理办法》已于…`` (an order that names what it publishes)."""
    if marker_at(line, pos) is not None or line.startswith("各", pos):
        return None
    for title_end in _TITLE_END.finditer(line, pos, pos + 120):
        end = title_end.end()
        title = line[pos:end]
        if re.search("[。，,；;：:！？!?]", title) or end - pos < 8 or line.startswith("书", end):
            continue
        if line.startswith(f"《{title}》", end):
            return end
        if not ("关于" in title or marker_at(line, end) is not None):
            continue  # a title names its subject with 关于, or a numbered section follows
        marker = marker_at(line, end)
        if _BODY_AFTER_TITLE.match(line, end) or (
            marker is not None and marker[1] in ("一、", "第一章", "第一条")
        ):
            return end
    return None


def _signature_issuers(zone: str) -> list[int]:
    """Starts of the issuers that end ``zone`` when other text runs into them (…建议格式|
    生态环境部办公厅, …名单|生态环境部办公厅|最高人民检察院办公厅|公安部办公厅), read from the
    right: each issuer starts where a central, ministry or provincial organ's name starts
    (国家…, 生态环境部…, 山东省…) and is one organ's name; the one before it must end where an
    organ's name ends. Empty when the zone does not end in an organ's name."""
    starts: list[int] = []
    end = len(zone)
    organ_starts = [m.start() for m in _ORGAN_START.finditer(zone)]
    while end > 0:
        found = None
        for start in reversed(organ_starts):
            if start < end and _SIGNING_PIECE.fullmatch(zone, start, end):
                found = start
                break
        if found is None:
            break
        for start in organ_starts:
            # a prefix that is not a name of its own: 国家|发展改革委办公厅, 山东省|科学技术厅
            if found - 8 <= start < found and _ORGAN_PREFIX.match(zone, start) and (
                _SIGNING_PIECE.fullmatch(zone, start, end)
            ):
                found = start
                break
        starts.append(found)
        if found == 0 or zone[found - 1] not in _ORGAN_END:
            break
        end = found
    if not starts or not _ITEM_END.search(zone, 0, min(starts)):
        return []  # what comes before is not an attachment's title (…全国妇联|市场监管总局)
    return sorted(starts)


def _issuer_run(zone: str) -> list[int] | None:
    """Starts of the issuers in ``zone`` when it is two or more issuers run together
    (煤炭工业部山西省人民政府), else None. Each issuer is the shortest that lets the rest parse,
    and none starts with what can only continue an organ's name (…委|员会, …部|办公厅)."""

    failed: set[int] = set()  # positions the rest cannot be parsed from (keeps it quadratic)

    def parse(position: int) -> list[int] | None:
        if position == len(zone):
            return []
        if zone[position] in _NOT_ISSUER_START or position in failed:
            return None
        for end in range(position + 2, len(zone) + 1):
            if _ISSUER_PIECE.fullmatch(zone, position, end):
                rest = parse(end)
                if rest is not None:
                    return [position, *rest]
        failed.add(position)
        return None

    if not 4 <= len(zone) <= 120:
        return None
    starts = parse(0)
    return starts if starts and len(starts) >= 2 else None


def _tail_boundaries(line: str) -> set[int]:
    """Cuts around signature, date, note, 抄送 and 印发 pieces in run-together text."""
    cuts: set[int] = set()
    starts = [m.start() for m in _PIECE_START.finditer(line)]
    # A date standing alone before a 此件 note or the end: …职责分工2020年2月21日（此件主动公开）
    starts += [m.start() for m in _LONE_DATE.finditer(line)]
    for start in sorted(set(starts)):
        match = _TAIL_START.match(line, start)
        if match is None:
            continue
        if match.group("sig"):
            date_start = match.start("date")
            # the issuers stand between the last sentence end and the date
            # (looked for in the 400 characters before the date: an issuer is far shorter)
            lookback = max(0, date_start - 400)
            zone_start = start if start < date_start else max(
                lookback, *(line.rfind(ch, lookback, date_start) + 1 for ch in "。；！？!?;）)"))
            zone = line[zone_start:date_start].rstrip(" \u3000")
            lead = len(zone) - len(zone.lstrip(" \u3000"))
            issuers = _issuer_run(zone.strip(" \u3000"))
            for issuer_start in issuers or []:
                cuts.add(zone_start + lead + issuer_start)  # 煤炭工业部 | 山西省人民政府
            if issuers is None and start == date_start and zone.strip(" \u3000"):
                # the signature runs on from the item before it:
                # …4.反馈意见建议格式生态环境部办公厅2022年10月31日
                # the issuers are the zone's last 150 characters at most (a bound: text with no
                # sentence end between many dates must not cost quadratic time)
                near = max(0, len(zone.rstrip(" \u3000")) - 150)
                issuer_starts = _signature_issuers(zone.rstrip(" \u3000")[near:])
                if issuer_starts:
                    cuts.update(zone_start + near + at for at in issuer_starts)
                    cuts.add(date_start)
            issuer = match.group("issuer")
            if issuer and date_start > start and "印发" not in match.group("after"):
                cuts.add(date_start)  # 印发 lines stay whole: 济南市人民政府办公厅 2019年1月3日印发
            if not (start == date_start and "印发" in match.group("after")
                    and _organ_name_ends_before(line, start)):
                cuts.add(start)  # (…办公厅2022年11月18日印发 is one clause, R4)
            cuts.add(match.end())
            title_end = _title_before_addressee(line, match.end())
            if title_end:
                # A signed cover letter before the report it forwards: 关于…的报告 国务院：
                cuts.add(title_end)
                cuts.add(addressee_end(line, title_end) or title_end)
        else:
            cuts.update((start, match.end() if match.group("note") else start))
            if match.group("cc"):
                # Letters sent together: …抄送：…。长治市人民政府，壶关县人民政府：2019年… The next
                # letter opens with its own addressee line.
                sentence_end = line.find("。", start, start + 400)
                after = addressee_end(line, sentence_end + 1) if sentence_end > 0 else None
                if after is not None:
                    cuts.update((sentence_end + 1, after))
    return {cut for cut in cuts if 0 < cut < len(line)}


def _organ_name_ends_before(line: str, pos: int) -> bool:
    """Whether an organ's name ends right before ``pos``, spaces aside (…办公厅 2022年…)."""
    while pos > 0 and line[pos - 1] in " \u3000":
        pos -= 1
    return pos > 0 and line[pos - 1] in _ORGAN_END


def _field_cut(line: str, label: int) -> int | None:
    """Where the contact field whose label starts at ``label`` opens its clause. A field
    label right after an organ's name belongs with it (``山东省能源局联系人：…``): the clause
    opens before the name when the name follows the value of the field before it
    (``…@sd.coal.gov.cn山东省能源局联系人：``), and nothing is cut when the name opens the
    sentence. None: no cut."""
    if not line.startswith(("联系人", "联系电话", "电话", "联系方式"), label):
        return label
    run = label
    while run > 0 and _is_cjk(line[run - 1]) and label - run < 30:
        run -= 1
    if label - run >= 4 and line[label - 1] in _ORGAN_END:
        before = line[run - 1] if run else ""
        if not before or before in "。；;！？!?":
            return None
        if before.isascii() and before.isalnum():
            return run
    return label


def _name_list(line: str) -> set[int]:
    """Starts of the organs' names in a list that runs together after a title ending in
    名单: each name starts where a central, ministry or provincial organ's name (or 各…)
    starts right after the end of the name before it (…办公厅|工业和信息化部…, …有限公司|中国…)."""
    starts: set[int] = set()
    for found in _NAME_LIST.finditer(line):
        limit = min(len(line), found.end() + _NAME_LIST_MAX)
        stop = re.compile(r"[。；;：:，,！？!?]").search(line, found.end(), limit)
        end = stop.start() if stop else limit
        starts.add(found.end())
        for organ in re.compile(rf"各|{_ORGAN_START.pattern}").finditer(line, found.end() + 1, end):
            if line[organ.start() - 1] in _ORGAN_END or line[organ.start() - 1] in "）)":
                starts.add(organ.start())
    return starts


def _place_rows(line: str) -> set[int]:
    """Starts of the rows of a list of places that runs together after a title ending in
    名单 (a flattened table, one province a row): …名单（100个）北京市海淀区、怀柔区|天津市宝坻区|
    河北省张家口市… Each row starts where a province's name follows the end of a place name
    (…区, …县, …市, …旗, …州); at least three rows, or it is not such a list."""
    starts: set[int] = set()
    titles = list(_PLACE_LIST.finditer(line))
    for index, found in enumerate(titles):
        # Each title's list runs to the next title at most, so the windows never overlap and
        # a line of titles costs linear time.
        limit = min(found.end() + 5000, titles[index + 1].start() if index + 1 < len(titles)
                    else len(line))
        stop = _PLACE_LIST_END.search(line, found.end(), limit)
        end = stop.start() if stop else limit
        rows = [m.start() for m in _PROVINCE_START.finditer(line, found.end(), end)
                if m.start() == found.end() or line[m.start() - 1] in _PLACE_END]
        if len(rows) >= 3:
            starts.update(rows)
    return starts


def _numbered_runs(line: str) -> set[int]:
    """Starts of the items of a numbered list that runs together with no punctuation, as a
    flattened table does (…(22个)1.北京燕山石油化工集团有限公司2.中国石化…): items 1., 2., 3.…
    each within a short name's length of the one before; at least three in a row."""
    starts: set[int] = set()
    chain: list[int] = []
    expected = 1
    for item in _ITEM_IN_TEXT.finditer(line):
        number = int(item.group(1))
        if chain and number == expected and item.start() - chain[-1] <= _RUN_ITEM_MAX:
            chain.append(item.start())
            expected += 1
            continue
        if len(chain) >= 3:
            starts.update(chain)
        chain, expected = ([item.start()], 2) if number == 1 else ([], 1)
    if len(chain) >= 3:
        starts.update(chain)
    return starts


def _labelled_items(line: str) -> set[int]:
    """Starts of the items of a short list right after its label, run together
    (解读：1.…答记者问2.一图读懂…): 1. after the label, then 2., 3.… each within an item's
    length."""
    starts: set[int] = set()
    for label in _LIST_LABEL.finditer(line):
        last, expected = label.end(), 2
        starts.add(last)
        for item in _ITEM_IN_TEXT.finditer(line, last + 2, last + _RUN_ITEM_MAX * 10):
            if int(item.group(1)) != expected or item.start() - last > _RUN_ITEM_MAX:
                break
            starts.add(item.start())
            last, expected = item.start(), expected + 1
    return starts


def _bare_numbered_rows(line: str) -> set[int]:
    """Starts of the rows of a flattened table whose rows open with a bare row number
    (…县（区）1AHCZ-0001卫星遥感…白色垃圾2AHCZ-0002…): numbers 1, 2, 3… in order, each right
    after a Chinese character or a closing bracket, not inside a number, at most a row's length
    from the one before; at least five in a row, so that a sentence's few numbers never are.
    Other numbers between them are the rows' own (…共3个…) and do not break the run."""
    starts: set[int] = set()
    chains: list[list[int]] = []  # runs 1, 2, 3… still open, the latest started last
    for found in _BARE_ROW_NUMBER.finditer(line):
        number, at = int(found.group(1)), found.start()
        open_chains = []
        for chain in chains:
            if at - chain[-1] <= _ROW_MAX:
                open_chains.append(chain)
            elif len(chain) >= _ROWS_MIN:
                starts.update(chain)
        chains = open_chains
        # the latest run that waits for this number takes it: a table's row 1 comes right
        # before its row 2, a sentence's 1 (第1批) earlier
        waiting = next((c for c in reversed(chains) if len(c) + 1 == number), None)
        if waiting is not None:
            waiting.append(at)
        elif number == 1 and not _COUNTED_ONE.match(line, at):
            chains.append([at])
            if len(chains) > _OPEN_RUNS_MAX:
                # a line of many 1s (hostile, or a column of ones) stays linear: the oldest
                # short run goes
                oldest = next((c for c in chains if len(c) < _ROWS_MIN), chains[0])
                if len(oldest) >= _ROWS_MIN:
                    starts.update(oldest)
                chains.remove(oldest)
        # any other number is inside a row (…共3个…) and leaves the runs as they are
    for chain in chains:
        if len(chain) >= _ROWS_MIN:
            starts.update(chain)
    return starts


def _attached_titles(line: str, protected: list[bool]) -> set[int]:
    """Cuts around the title of a statute or guide that a notice publishes, where its text runs
    on after the notice (…2021年2月21日（此件社会公开）…着装管理规定|第一条为规范…): the title
    is one the text names in 《》, it stands after a sentence, a note, the tail or an
    attachment's label, and its first article or chapter follows it."""
    names = {match.group(1) for match in _QUOTED_TITLE.finditer(line)}
    # look back from the article by the names' lengths, longest first (重点排污许可管理办法,
    # not its tail 排污许可管理办法), not over every name: a long line may quote thousands
    lengths = sorted({len(name) for name in names}, reverse=True)
    cuts: set[int] = set()
    for first in _FIRST_PART.finditer(line):
        at = first.start()
        if protected[at]:
            continue
        for length in lengths:
            title_start = at - length
            if title_start >= 0 and line[title_start:at] in names and (
                title_start == 0 or line[title_start - 1] in _BEFORE_ATTACHED_TITLE
                or _ATTACHMENT_LABEL_END.search(line, max(0, title_start - 8), title_start)
            ):
                cuts.update((title_start, at))
                break
    return {cut for cut in cuts if 0 < cut < len(line) and not protected[cut]}


def _attachment_items(line: str, protected: list[bool]) -> set[int]:
    """Starts of the numbered items of an attachment list run together (附件：1.…2.…3.…),
    found in order, each number the last plus one. An item's text may itself start with a
    digit (``2.2021、2022年度…``), which the generic marker rule cannot tell from a decimal."""
    starts: set[int] = set()
    for found in _ATTACHMENTS.finditer(line):
        number, position = 2, found.end()
        while True:
            item = re.compile(rf"(?<![\d.．]){number}[.．、]").search(
                line, position, position + _ATTACHMENT_ITEM_MAX)
            if item is None or protected[item.start()]:
                break
            starts.add(item.start())
            number, position = number + 1, item.end()
    return starts


def split_line(line: str, *, head: bool = False) -> list[tuple[int, int]]:
    """Clause spans [start, end) of one line, before stripping; ``head``: the line opens the
    document, so a run-together title, number and addressee line are cut apart."""
    return _split(line, head)[0]


def _split(line: str, head: bool, run_together: bool = False
           ) -> tuple[list[tuple[int, int]], set[int], set[int], set[int]]:
    """Spans of ``split_line``, the starts of run-in headings cut off their body, the starts
    of the rows of a flattened list (items, never headings), and those of the run-in headings
    that ``_sibling_headings`` cut as one of a list of titles. In a ``run_together`` line
    (flat text, or paragraphs run into one line) a marked clause whose heading end the rule
    cannot place asks the learned model (run_in)."""
    pairs = _matched_brackets(line)
    protected = [False] * len(line)
    for opener, closer in pairs.items():
        for index in range(opener + 1, closer):
            protected[index] = True

    boundaries = {0, len(line)}
    if head:
        boundaries |= _head_boundaries(line, protected)
    if "附件" in line:
        boundaries |= _attachment_items(line, protected)
        boundaries |= {cut for m in _ATTACHMENT_LABEL.finditer(line) for cut in m.span()}
    if "第一" in line and "《" in line:
        boundaries |= _attached_titles(line, protected)
    if "部内征求" in line:
        boundaries |= {m.start() for m in _INTERNAL_CONSULTATION.finditer(line)
                       if not protected[m.start()]}
    list_items: set[int] = set()
    if "名单" in line:
        boundaries |= _name_list(line)
        if run_together:
            list_items |= _place_rows(line)
    if run_together:
        list_items |= _numbered_runs(line) | _bare_numbered_rows(line)
        if "解读" in line or "链接" in line:
            list_items |= _labelled_items(line)
    boundaries |= list_items
    if "日" in line or "抄" in line or "此" in line or "章" in line:
        tail_cuts = {cut for cut in _tail_boundaries(line) if not protected[cut]}
        boundaries |= tail_cuts
        if "附件" in line:
            boundaries |= {label.end() for cut in tail_cuts
                           if (label := _SIGNED_ATTACHMENT_LABEL.match(line, cut))}
    if "长" in line or "总理" in line or "主任" in line or "主席" in line:
        # an order signed by name, then its date: 部长黄润秋|2022年11月28日|…
        boundaries |= {cut for m in _SIGNED_BY_NAME.finditer(line)
                       for cut in (*m.span("name"), m.end("date"))
                       if 0 < cut < len(line) and not protected[cut]}
    if run_together and "序号" in line:
        # a flattened table's header row after its title: …推选结果|序号省份所在地区…
        boundaries |= {m.start() for m in _TABLE_HEADER.finditer(line) if not protected[m.start()]}
    if "：" in line or ":" in line:
        boundaries |= {cut for m in _FIELD_START.finditer(line) if not protected[m.start()]
                       and not _MARKER_BEFORE.search(line, max(0, m.start() - 6), m.start())
                       and (cut := _field_cut(line, m.start())) is not None}
        fields = [m for m in _FORM_FIELD.finditer(line) if not protected[m.start()]]
        if len({m.group("label") for m in fields}) >= _FORM_FIELDS_MIN:
            boundaries |= {cut for m in fields if (cut := _field_cut(line, m.start())) is not None}
        # 现就有关事项通知如下：年初，… — what follows 如下： is the body it announces.
        boundaries |= {m.end() for m in _AS_FOLLOWS.finditer(line) if not protected[m.start()]}
    run_in_ends: set[int] = set()
    last_number = 0  # the number of the last 1. / 2、 item opened in this line
    last_section = 0  # the number of the last 一、 / 二、 section opened in this line
    # Boundaries ahead of the scan: a marker may open a clause there; so may a section
    # numeral run into the text before it (…备用电源四、通信…).
    ahead = sorted(boundaries | {m.start() for m in _SECTION_IN_TEXT.finditer(line)})
    heapq.heapify(ahead)
    index = 0

    def cut(position: int) -> None:
        boundaries.add(position)
        if position > index:
            heapq.heappush(ahead, position)

    # where markers opened clauses, and the rule's heading end there, for _sibling_headings
    rule_ends: dict[int, int | None] = {}

    def open_at(position: int) -> None:
        nonlocal last_number, last_section
        if position > 0:
            cut(position)
        end = rule_ends[position] = run_in_heading_end(line, position)
        if end is None and run_together:
            end = learned_run_in_end(line, position)
        if end is not None and not protected[end]:
            cut(end)
            run_in_ends.add(position)
        number = _DIGIT_ITEM.match(line, position)
        if number:
            last_number = int(number.group(1))
        section = _SECTION.match(line, position)
        if section:
            last_section = _section_number(section.group(1))

    after_end = True  # at line start, as after a sentence end
    length = len(line)
    stops = [-1]  # the next stop character, cached by _next_position
    second = _SECOND_SECTION.search(line) if "二、" in line else None
    second_section = second.start() if second else -1
    while index < length:
        ch = line[index]
        if protected[index]:
            step = after_end or ch in "：:）)》"
            index = index + 1 if step else _next_position(line, index, ahead, stops)
            continue
        if (
            not after_end and index > 0 and line[index - 1] != "第"
            and _RUN_IN_MARKER.match(line, index)
        ):
            # Headers that run into the body ("…全面领导（一）生态环境是…") still open a
            # clause at a bracketed Chinese numeral; "第（一）项" cites, it does not open.
            open_at(index)
        if (
            not after_end and last_section and index > 0
            and (_is_cjk(line[index - 1]) or line[index - 1] in "）)")
            and line[index - 1] not in _CN_NUM + "第" and (section := _SECTION.match(line, index))
            and _section_number(section.group(1)) == last_section + 1
        ):
            # The next section of run-together text, its 。 lost: …备用电源四、通信电站…,
            # …（25日返程）二、培训地点…
            open_at(index)
        if (
            not after_end and not last_section and line.startswith("一、", index) and index > 0
            and _is_cjk(line[index - 1]) and second_section > index and (
                line[index - 1] not in _NOT_BEFORE_FIRST or line[index - 2:index] in _ENDS_IN_TONG)
        ):
            # The first section run into the text before it, when its second follows:
            # …在线监测系统一、水(雨)情测报…二、设备… (not 统一、规范, 之一、)
            open_at(index)
        if (
            not after_end and last_number and index > 0 and line[index - 1] in "）)》"
            and (item := _DIGIT_ITEM.match(line, index)) and int(item.group(1)) == last_number + 1
        ):
            # An attachment list run together: 1.…（先进集体）2.…（先进个人）
            open_at(index)
        if after_end or (index > 0 and line[index - 1] in "：:") or index in boundaries:
            marker = marker_at(line, index)
            if marker:
                open_at(index)
            if after_end and ch in _NOTE_OPENERS and index in pairs and not marker:
                # A bracketed note standing alone after a sentence end is its own clause.
                if index > 0:
                    cut(index)
                cut(pairs[index] + 1)
        if ch == "?" and index < len(line) - 1 and _is_cjk(line[index + 1]) and (
            index == 0 or not line[index - 1].isspace()
        ) and not _QUESTION_WORD.search(line, max(0, index - 30), index):
            # A garbled character inside or at the start of a word (高等院?校, 。?江河), not a
            # question (R5): the sentence so far asks nothing (no 吗, 是否, 如何…).
            after_end = False
        elif ch in _SENTENCE_END or (
            ch == "." and index > 0 and not line[index - 1].isdigit()
            and (index + 1 == len(line) or not line[index + 1].isascii()
                 or not line[index + 1].isalnum())
        ):
            cut(index + 1)
            after_end = True
        elif not ch.isspace():
            after_end = False
        if after_end or ch in "：:）)》":
            index += 1  # what comes right after a sentence end, a colon or a bracket matters
        else:
            index = _next_position(line, index, ahead, stops)
    sibling_starts: set[int] = set()
    if run_together:
        for start, end in _sibling_headings(line, rule_ends, run_in_ends, boundaries, protected):
            boundaries.add(end)
            sibling_starts.add(start)
    ordered = sorted(boundaries)
    return list(itertools.pairwise(ordered)), run_in_ends | sibling_starts, list_items, (
        sibling_starts)


# A document titles its sections one way: where at least this many markers of a level, and
# at least half of them, head a run-in heading, the others of that level are read as
# headings on weaker evidence.
_SIBLINGS_CUT_MIN = 2
_SIBLING_MIN_SCORE = 2
_NOT_SIBLING_END = frozenset("为是请由" + NOT_BEFORE_BODY)
_TITLE_GOES_ON = HEADING_END_STRONG | HEADING_END_WEAK | {"活动"}
# who acts, pulled into the title from the sentence: 四、动员社会参与各地区|各单位要…
_AGENT_IN_TITLE = re.compile(
    r"各地区|各单位|各级|各地|各部门|地方各级|(?:省|市|县)级[^，。]{0,6}部门")
_FIRST_MARKER = re.compile(r"一、|[（(]一[）)]|1[.．、]")
# ...and where none is sure on its own, a list of at least this many markers, three in four of
# them on the weaker evidence, is one of run-in headings
_WEAK_LIST_MIN = 3


_OPENER_CHARS = 4
_OPENER_AFTER = re.compile(r"[。；！？]")
_JOIN_BEFORE = 2  # characters before an opener that make its join (…调试|福建福清…)


@dataclass(frozen=True)
class SentenceOpeners:
    """How a line's own sentences begin: ``starts``, the first ``_OPENER_CHARS`` characters
    (all Chinese) that begin two or more of them after a sentence end (the subjects a report's
    sections open on, ``营运单位``, ``福建福清``), and ``joins``, how often each start stands in
    the line after the same ``_JOIN_BEFORE`` characters (counted once per line, so a check per
    position stays linear)."""

    starts: frozenset[str]
    joins: Counter[str]

    @classmethod
    def of(cls, line: str) -> SentenceOpeners:
        counts = Counter(line[found.end():found.end() + _OPENER_CHARS]
                         for found in _OPENER_AFTER.finditer(line))
        starts = frozenset(start for start, count in counts.items() if count >= 2
                           and len(start) == _OPENER_CHARS and all(map(_is_cjk, start)))
        joins: Counter[str] = Counter()
        if starts:
            anywhere = re.compile("(?=(?:" + "|".join(map(re.escape, sorted(starts))) + "))")
            joins.update(line[found.start() - _JOIN_BEFORE:found.start() + _OPENER_CHARS]
                         for found in anywhere.finditer(line, _JOIN_BEFORE))
        return cls(starts, joins)

    def open_at(self, line: str, position: int) -> bool:
        """Whether one of the line's sentence starts begins at ``position``, and not inside a
        name the line repeats (中国国电|集团公司… stands so everywhere: the join is not new)."""
        return line[position:position + _OPENER_CHARS] in self.starts and self.joins[
            line[position - _JOIN_BEFORE:position + _OPENER_CHARS]] == 1


def _sibling_end(line: str, position: int, ordered: list[int], protected: list[bool],
                 openers: SentenceOpeners) -> int | None:
    """The heading end of the marker at ``position`` on the weaker evidence
    (``_SIBLING_MIN_SCORE``), or None: the rule's vetoes hold, the end comes before the next
    cut, and the title's words neither go on past it nor take in who acts."""
    end = run_in_heading_end(line, position, min_score=_SIBLING_MIN_SCORE, openers=openers)
    if end is None or protected[end] or end >= ordered[bisect.bisect_right(ordered, position)]:
        return None
    if line[end:end + 2] in _TITLE_GOES_ON or line[end - 1] in _NOT_SIBLING_END or (
        _AGENT_IN_TITLE.search(line, position + 2, end)
    ):
        return None  # not 五、监督|管理…, 资金|支持…: the title's words go on; not …时间为|…
    return end


def _sibling_headings(line: str, rule_ends: dict[int, int | None], run_in_ends: set[int],
                      boundaries: set[int], protected: list[bool]) -> list[tuple[int, int]]:
    """(marker, heading end) for the markers of ``line`` whose siblings (markers of the same
    level, e.g. 一、二、三、) are mostly run-in headings but which no rule or model cut:
    ``二、有关要求|上述城市…`` among ``一、基本情况|…``, ``三、…|…``; or, where none is cut, a
    list of at least three markers that three in four of read so (``（一）质量保证|根据…``). The
    evidence asked for is weaker (the word lists' score 2, not 3), the rule's vetoes hold, and
    the title's words must neither go on past the end nor take in who acts."""
    # siblings: markers of one level in one list, which a first marker (一、, （一）, 1.) opens
    lists: dict[int, list[list[int]]] = {}
    for position in sorted(rule_ends):
        found = heading_phrase_start(line, position)
        if found is None:
            continue
        runs = lists.setdefault(found[0], [])
        if not runs or _FIRST_MARKER.match(line, position):
            runs.append([])
        runs[-1].append(position)
    ordered = sorted(boundaries)
    openers: SentenceOpeners | None = None  # read once, for the first list that asks
    found_ends: list[tuple[int, int]] = []
    for positions in (run for runs in lists.values() for run in runs):
        # a heading over a sentence, not a marker that the next one ends (1.…方案2.…); the
        # learned model's cuts count too (the rule found none there)
        cut_here = sum(position in run_in_ends and (
            rule_ends[position] is None or marker_at(line, rule_ends[position]) is None)
            for position in positions)
        siblings_cut = cut_here >= _SIBLINGS_CUT_MIN and 2 * cut_here >= len(positions)
        if not siblings_cut and len(positions) < _WEAK_LIST_MIN:
            continue
        if openers is None:
            openers = SentenceOpeners.of(line)
        weak = [(position, end) for position in positions if position not in run_in_ends
                and (end := _sibling_end(line, position, ordered, protected, openers))
                is not None]
        # where no marker is sure on its own, (nearly) every one of the list must read as a
        # title before a sentence on the weaker evidence: （一）质量保证|根据…（二）系统调试|福建…
        if siblings_cut or (len(weak) >= _WEAK_LIST_MIN
                            and 4 * (len(weak) + cut_here) >= 3 * len(positions)):
            found_ends += weak
    return found_ends


# The characters the scan must stop at when it is inside a sentence; it skips the rest.
_SCAN_STOPS = re.compile(r"[。！？；!?;.：:（(）)》]")


def _next_position(line: str, index: int, ahead: list[int], stops: list[int]) -> int:
    """The next position after ``index`` where the scan can change anything: a stop
    character or a boundary ahead. ``stops`` holds the last stop found ([position]; -1 before
    the first search): it is searched for again only once the scan has passed it, so a line
    with many boundaries and no stop character is scanned once, not once per boundary."""
    if stops[0] <= index:
        stop = _SCAN_STOPS.search(line, index + 1)
        stops[0] = stop.start() if stop else len(line)
    position = stops[0]
    while ahead and ahead[0] <= index:
        heapq.heappop(ahead)
    return min(position, ahead[0]) if ahead else position


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@dataclass
class _Piece:
    start: int
    end: int
    text: str
    whole_line: bool
    line_first: bool
    run_in: bool = False
    sibling_title: bool = False  # cut as one of a list of run-in titles (_sibling_headings)
    list_item: bool = False
    run_together: bool = False
    line_last: bool = False


def _is_heading(piece: _Piece) -> tuple[bool, int | None]:
    """(is a heading, its marker level or None)."""
    text = piece.text
    if text.endswith(("；", ";", "，", ",", "、", "：", ":")):
        return False, None
    marker = marker_at(text)
    if marker:
        level, mark = marker
        rest = text[len(mark):].strip()
        is_article = level == 3 and mark.startswith("第")
        if not piece.line_first and piece.line_last and rest and not is_article and (
            len(text) <= _HEADING_PHRASE_MAX and not re.search(r"[，,。；;：:！？!?]", text)
        ):
            # a heading run in after the sentence that ends the line before it:
            # …构建完善产业生态。（二）供给能力提升工程
            return True, level
        if not rest or len(text) > _HEADING_MAX or not piece.line_first or is_article:
            # 第X条 opens an article: body text, not a heading.
            return (level < 3 and len(text) <= _HEADING_MAX), level
        commas = sum(text.count(c) for c in "，,；;")
        if text.endswith(("。", ".")) and (
            _SENTENCE_MODAL.search(rest, 2) or rest.startswith("请")
        ):
            # a subject and a modal verb (地质队要…, 企业应…) or a request (请以公函方式…):
            # a sentence, not a title
            return False, level
        if _BODY_HINTS.search(text) or commas > 1:
            return False, level
        if text.endswith(("。", ".")) and commas and (piece.whole_line or (
            piece.run_together and len(text) > 24
        )):
            # A marked sentence with a comma is body, unless it is a short two-part title
            # standing in run-together text (（一）加强统筹协调，强化落地实施。).
            return False, level
        return True, level
    if piece.whole_line and len(text) <= 60 and not re.search(r"[，,。；;：:]", text) and (
        _TITLE_SUFFIX.search(text)
    ):
        return True, None
    return False, None


def _is_title(text: str) -> bool:
    """A document title: ends in a document type (关于…的报告, …的通知), no sentence marks."""
    return 6 <= len(text) <= 90 and marker_at(text) is None and bool(
        _TITLE_END_HERE.search(text)) and not re.search(r"[。；;，,：:！？!?]", text)


def _head_tail_kinds(clauses: list[Clause]) -> None:
    """Mark the head block (title, document number, addressee line) and the tail pieces
    (signature issuer, date, 此件 note, 抄送, 印发) as kinds ``head`` and ``tail`` (R3, R4)."""
    masthead = _masthead_clauses(clauses)
    for clause in clauses[:masthead]:
        clause.kind = "head"
    for index, clause in enumerate(clauses[masthead:10], masthead):
        text = clause.text
        if text.endswith(("。", ".", "；", ";")) and not DOC_NUMBER.fullmatch(text):
            break
        before_is_number = all(DOC_NUMBER.fullmatch(c.text) for c in clauses[masthead:index])
        is_title = before_is_number and len(text) <= 90 and marker_at(text) is None and bool(
            title_suffix(text) or _TITLE_END_HERE.search(text)
            or (len(clauses) > 1 and DOC_NUMBER.fullmatch(clauses[1].text))
        )
        if is_title or DOC_NUMBER.fullmatch(text) or (
            addressee_end(text, semicolons=True) == len(text)
        ) or (
            _ENACTMENT.fullmatch(text)
        ):
            clause.kind = "head"
    for title, addressee in itertools.pairwise(clauses):
        # An embedded document's head anywhere (a report after the cover letter's signature,
        # a notice after 附件): its title, then its addressee line.
        if addressee_end(addressee.text) != len(addressee.text):
            continue
        if _is_title(title.text):
            title.kind = addressee.kind = "head"
        elif re.match("抄[送报][:：]", title.text):
            addressee.kind = "head"  # the next of several letters sent together opens here
    for title, article in itertools.pairwise(clauses):
        # The title of a statute or guide that a notice publishes, before its first article
        if _FIRST_PART.match(article.text) and title.kind == "body" and _is_title(title.text):
            title.kind = "head"
    for index, clause in enumerate(clauses):
        # 财　　政　　部, 国 务 院: a signature spaced out to the width of the line
        text = re.sub(r"[ \u3000]", "", clause.text)
        if len(text) > 200 or marker_at(clause.text) is not None:
            continue
        if re.fullmatch(_OFFICIAL, text) and index + 1 < len(clauses) and (
            _DATE_ONLY.fullmatch(clauses[index + 1].text)
        ):
            clause.kind = "tail"  # 部长黄润秋 | 2022年11月28日: who signs, by name
            continue
        if not _TAIL_CLAUSE.fullmatch(text):
            continue
        if re.fullmatch(_ISSUER, text) and not _signs(clauses, index):
            continue
        clause.kind = "tail"


def _masthead_clauses(clauses: list[Clause]) -> int:
    """How many clauses at the start are a masthead: issuers, the last ending in 文件 or 函
    (生态环境部办公厅 | 自然资源部办公厅函), before the number or the title."""
    for index, clause in enumerate(clauses[:_MASTHEAD_ISSUERS_CUT]):
        if not (re.fullmatch(rf"{_ISSUER}(?:文件|函)?", clause.text)
                or _MASTHEAD_LINE.fullmatch(clause.text)):
            return 0
        if clause.text.endswith(("文件", "函")):
            return index + 1
    return 0


def _signs(clauses: list[Clause], index: int) -> bool:
    """Whether the issuer alone in clause ``index`` is a signature: the issuers after it (a
    joint signature) lead to a date or another tail line. A list of organs' names that no date
    follows (an attachment's list of units) is not signed."""
    for following in clauses[index + 1:index + 40]:
        text = re.sub(r"[ \u3000]", "", following.text)
        if re.fullmatch(_ISSUER, text):
            continue
        return bool(_DATE_ONLY.fullmatch(text) or _TAIL_CLAUSE.fullmatch(text))
    return False


_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def _marker_key(marker: str) -> tuple[str, tuple[int, ...]]:
    """A marker's style and number: 第六条 → (第N条, (6,)), （三） → (（N）, (3,)), 2.1 → (N.N,
    (2, 1)); a number it cannot read (第一百条) is 0."""
    style = re.sub(rf"\d+|[{_CN_NUM}]+|[{_CIRCLED}]", "N", marker.strip())
    digits = re.findall(r"\d+", marker)
    if digits:
        return style, tuple(int(d) for d in digits)
    circled = re.search(rf"[{_CIRCLED}]", marker)
    if circled:
        return style, (_CIRCLED.index(circled.group(0)) + 1,)
    numeral = re.search(rf"[{_CN_NUM}]+", marker)
    return style, (_section_number(numeral.group(0)) if numeral else 0,)


class _SectionPath:
    """The headings above the clause being read, outermost first.

    A heading closes its siblings and what lies under them (the titles at its level and
    deeper). So does a marked item that goes on from an earlier marker of its style: （三）…
    after the title （二）… closes it, and 第六条… closes the titles opened under 第五条…. It
    closes only titles at its level or deeper opened since that earlier marker, and nothing
    where it does not go on from one: 一、二季度… under the title 二、… (a number, not a
    marker), a list that starts again at 1. under the title 1.…, （一）… under the title
    1.… (an inverted hierarchy), or a quoted 第三十条 under 三、….
    """

    def __init__(self) -> None:
        self._path: list[tuple[int, str, int]] = []  # (level, title, the clause that opened it)
        # marker style → (number, clause) of the last marker of that style
        self._last: dict[str, tuple[tuple[int, ...], int]] = {}

    def enter(self, index: int, text: str, heading: bool, level: int | None,
              marker: tuple[int, str] | None) -> str:
        """The section of clause ``index`` (its text, whether it is a heading, the heading's
        level and the clause's marker); the path then moves past it."""
        key = _marker_key(marker[1]) if marker else None
        if heading:
            self._path = [] if level is None else [e for e in self._path if e[0] < level]
        elif key is not None:  # a marked item
            style, number = key
            previous = self._last.get(style)
            if previous is not None and 0 not in number + previous[0] and number > previous[0]:
                self._path = [e for e in self._path
                              if e[0] < marker[0] or e[2] < previous[1]]
        section = SECTION_SEPARATOR.join(title for _, title, _ in self._path)
        if heading and level is not None:
            self._path.append((level, text, index))
        if key is not None:
            self._last[key[0]] = (key[1], index)
        return section


def segment(text: str, layout: str = "lines") -> list[Clause]:
    """Clauses of a cleaned text; ``start``/``end`` index into ``text``. ``layout`` is what
    inference.text.layout found: in ``flat`` text a marked clause counts as starting a line."""
    clauses: list[Clause] = []
    levels: list[int | None] = []  # each heading's marker level (None: unmarked)
    markers: list[tuple[int, str] | None] = []  # each clause's enumeration marker
    list_level: int | None = None  # marker level of the enumerated list being read, if any
    attachment_list = False  # whether that list is an attachment list (附件：1.…2.…)
    line_start = 0
    for line in text.split("\n"):
        run_together = layout == "flat" or len(line) > _RUN_TOGETHER_LINE
        spans, run_in_starts, list_items, sibling_starts = _split(
            line, head=line_start < _HEAD_WINDOW, run_together=run_together)
        pieces: list[_Piece] = []
        for start, end in spans:
            raw = line[start:end]
            # A clause never opens with a comma or colon left over from a broken line.
            stripped = raw.strip().lstrip("，,、：:；;。").strip()
            if not stripped or _PUNCT_ONLY.match(stripped):
                continue
            offset = line_start + start + raw.index(stripped[0])
            piece = _Piece(offset, offset + len(stripped), stripped, False, False)
            piece.run_in = start in run_in_starts
            piece.sibling_title = start in sibling_starts
            piece.list_item = start in list_items
            if run_together and marker_at(stripped):
                # Run-together text has lost its line starts: a marked clause opens one.
                piece.line_first = piece.run_together = True
            pieces.append(piece)
        if len(pieces) == 1:
            pieces[0].whole_line = True
        if pieces:
            pieces[0].line_first = True
            pieces[-1].line_last = True
        for piece in pieces:
            heading, level = _is_heading(piece)
            if piece.run_in:
                heading, level = True, (marker_at(piece.text) or (None, ""))[0]
            if piece.list_item:
                heading, level = False, None  # a row of a flattened list or table
            marker = marker_at(piece.text)
            after_attachment_label = bool(clauses) and clauses[-1].text.endswith(
                ("附件：", "附件:"))
            if (not heading and not marker and not piece.list_item and clauses
                    and _ATTACHMENT_LABEL_CLAUSE.fullmatch(clauses[-1].text)
                    and len(piece.text) <= _TITLE_MAX
                    and not re.search(r"[，,。；;：:！？!?.．\s]", piece.text)):
                heading, level = True, None  # the title under an attachment's label (R2)
            if heading and marker and after_attachment_label:
                heading = False  # the attachment list: 附件：1.…  2.… (items, not titles)
            if heading and marker and marker[0] == list_level and not (
                piece.sibling_title and not attachment_list
            ):
                # a sibling of items that end in ；: a list, not titles (but one of a list of
                # titles cut off their sentences stays one: …；（三）系统调试|福建…)
                heading = False
            if marker and not heading and (
                piece.text.endswith(("；", ";")) or after_attachment_label
            ):
                if after_attachment_label or list_level != marker[0]:
                    # an attachment list, even at the level of a ；-list before it
                    attachment_list = after_attachment_label
                list_level = marker[0]
            elif heading and level is not None and list_level is not None and level < list_level:
                list_level = None
            levels.append(level if heading else None)
            markers.append(marker)
            clauses.append(
                Clause(
                    clause_id=len(clauses),
                    text=piece.text,
                    start=piece.start,
                    end=piece.end,
                    kind="heading" if heading else "body",
                )
            )
        line_start += len(line) + 1
    # sections once the kinds are settled: a demoted heading is an item in the path too
    _list_items_not_headings(clauses, levels)
    _set_sections(clauses, levels, markers)
    _head_tail_kinds(clauses)
    return clauses


def _list_items_not_headings(clauses: list[Clause], levels: list[int | None]) -> None:
    """A marked sentence with nothing under it is an item of a list, not a title: a heading
    that ends in 。 and is followed straight by its next sibling (or a higher level, or the
    tail) becomes ``body`` (``四、《…条例》适用于中外合营金矿企业。`` | ``五、…``). A run-in
    title keeps the sentences that follow it (``1.完善标准规范体系。`` | ``面向…``)."""
    for index, clause in enumerate(clauses):
        level = levels[index]
        if clause.kind != "heading" or level is None or not clause.text.endswith(("。", ".")):
            continue
        if index + 1 == len(clauses):
            continue  # the text ends (a crawl may be cut short): no evidence either way
        following = clauses[index + 1]
        marker = marker_at(following.text)
        if (marker is not None and marker[0] <= level) or (
            _TAIL_CLAUSE.fullmatch(re.sub(r"[ \u3000]", "", following.text))
        ):
            clause.kind = "body"
            levels[index] = None


def _set_sections(clauses: list[Clause], levels: list[int | None],
                  markers: list[tuple[int, str] | None]) -> None:
    """Each clause's section path, from the headings and marked items before it
    (``_SectionPath``); ``markers`` are the clauses' markers as ``segment`` read them."""
    path = _SectionPath()
    for index, (clause, level, marker) in enumerate(zip(clauses, levels, markers,
                                                        strict=True)):
        clause.section = path.enter(index, clause.text, clause.kind == "heading", level,
                                    marker)
