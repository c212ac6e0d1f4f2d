// UI strings in Chinese (default) and English, and locale-aware formatting of times and numbers.
// Every user-visible string of the console lives here; app.js only calls t('key').
// Times are always shown in the utility's zone, Asia/Shanghai (UTC+8, no daylight saving).

export const TIME_ZONE = 'Asia/Shanghai';
const STORAGE_KEY = 'sewerDispatch.lang';

export const messages = {
  zh: {
    'app.title': '污水调度台',
    'app.subtitle': '污水输送调度',
    'a11y.skip': '跳到主要内容',
    'nav.label': '主导航',
    'nav.overview': '总览',
    'nav.plans': '调度计划',
    'nav.audit': '审计日志',
    'nav.logout': '退出登录',
    'lang.switch': '切换界面语言',
    'footer.tz': '所有时间均为北京时间（UTC+8）',
    'conn.lost': '与服务器的连接中断，显示的数据可能已过期',
    'noscript': '本调度台需要启用 JavaScript。',

    'login.title': '登录',
    'login.intro': '请使用调度系统账号登录。',
    'login.user': '用户名',
    'login.password': '密码',
    'login.submit': '登录',
    'login.busy': '正在登录…',
    'login.failed': '用户名或密码错误。',
    'login.missing': '请输入用户名和密码。',
    'login.expired': '登录已失效或已过期，请重新登录。',
    'login.loggedOut': '已退出登录。',
    'login.rateLimited': '登录尝试过于频繁，请稍后再试。',

    'role.viewer': '查看员',
    'role.dispatcher': '调度员',
    'role.supervisor': '调度主管',
    'role.admin': '管理员',
    'user.signedInAs': '当前用户：{name}（{role}）',

    'error.network': '无法连接服务器，请检查网络。',
    'error.forbidden': '权限不足：{message}',
    'error.notFound': '未找到：{message}',
    'error.conflict': '操作未执行，计划状态已变化：{message}',
    'error.rateLimited': '请求过于频繁，请稍后再试。',
    'error.server': '服务器内部错误，请查看服务器日志。',
    'error.generic': '请求失败：{message}',
    'error.pageFailed': '页面加载失败',
    'error.retry': '重试',

    'common.updatedAt': '数据更新于 {time}',
    'common.checkedAt': '检查于 {time}',
    'common.none': '无',
    'common.unknown': '未知',
    'common.refresh': '刷新',
    'common.loading': '加载中…',
    'common.stale': '数据已过期',

    'age.justNow': '刚刚',
    'age.seconds': '{n} 秒前',
    'age.minutes': '{n} 分钟前',
    'age.hours': '{n} 小时前',
    'age.days': '{n} 天前',

    'overview.title': '管网总览',
    'overview.schematic': '管网示意图',
    'overview.stations': '泵站实时状态',
    'overview.pending': '有待审批的调度计划：{planId}（生成于 {time}）',
    'overview.review': '去审批',
    'overview.stateError': '实时数据读取失败：{message}',
    'overview.noTelemetry': '暂无实时数据。',
    'overview.refreshNote': '每 10 秒自动刷新',

    'schematic.aria': '管网示意图：{systems}，共 {count} 座泵站。详细数值见下方泵站状态表。',
    'schematic.plant': '进厂 {inflow} / {capacity}',
    'schematic.bypass': '超越 {flow}',
    'schematic.tank': '{volume} / {capacity} · {pct}',
    'schematic.transfer': '{id} {name} · {flow}',
    'schematic.staleNote': '灰色虚线框：数据超过 {minutes} 分钟未更新',
    'schematic.remoteInactiveNote': '远程*：远程模式但设定未生效（看门狗超时）',

    'legend.title': '图例',

    'band.normal': '正常',
    'band.above-start': '高于启泵液位',
    'band.high': '高液位报警',
    'band.overflow': '溢流',
    'band.unknown': '无数据',

    'mode.remote': '远程',
    'mode.local': '本地',
    'mode.remoteInactive': '远程*',
    'mode.unknown': '模式未知',
    'mode.localNote': '本地控制：远程设定不会生效',
    'mode.remoteInactiveTitle': '远程模式，但远程设定未生效（看门狗超时）',

    'node.pumps': '泵 {running}/{available}',

    'table.station': '泵站',
    'table.system': '片区',
    'table.level': '液位',
    'table.band': '状态',
    'table.bands': '停泵 / 启泵 / 高报警 / 溢流',
    'table.pumps': '运行 / 可用泵',
    'table.mode': '控制模式',
    'table.inflow': '进水流量',
    'table.outflow': '出水流量',
    'table.updated': '更新时间',

    'health.title': '组件健康状态',
    'health.overall': '总体状态',
    'health.up': '正常',
    'health.down': '故障',
    'health.degraded': '部分故障',
    'health.latency': '响应 {ms}',
    'health.error': '健康检查失败：{message}',
    'component.temporal': '流程引擎 (Temporal)',
    'component.influxdb': '时序数据库 (InfluxDB)',
    'component.opcua': 'SCADA 接口 (OPC UA)',
    'component.forecast': '降雨预报 (Open-Meteo)',

    'plans.title': '调度计划',
    'plans.limit': '显示条数',
    'plans.empty': '暂无调度计划。',
    'plans.colPlan': '计划编号',
    'plans.colCreated': '生成时间',
    'plans.colStatus': '状态',
    'plans.colDecidedBy': '审批人',
    'plans.caption': '最近的调度计划，最新的在前',
    'plans.back': '← 返回计划列表',

    'status.gathering': '收集数据中',
    'status.proposed': '待审批',
    'status.approved': '已批准，下发中',
    'status.rejected': '已驳回',
    'status.expired': '已过期',
    'status.dispatched': '已下发',
    'status.superseded': '已被新计划取代',
    'status.replaced': '已被替换',
    'status.completed': '已执行完毕',
    'status.dispatch-failed': '下发失败',

    'wf.RUNNING': '运行中',
    'wf.COMPLETED': '已结束',
    'wf.FAILED': '流程失败',
    'wf.CANCELLED': '已取消',
    'wf.TERMINATED': '已终止',
    'wf.TIMED_OUT': '流程超时',
    'wf.CONTINUED_AS_NEW': '已续作',

    'plan.title': '调度计划',
    'plan.status': '状态',
    'plan.created': '生成时间',
    'plan.operatingMode': '运行模式',
    'plan.forecast': '降雨预报',
    'plan.forecastValue': '{source}，发布于 {time}（{age}）',
    'plan.forecastNone': '无降雨预报：本计划未考虑降雨',
    'plan.forecastOld': '预报已超过 6 小时',
    'plan.telemetry': '实时数据时间',
    'plan.badTags': '{n} 个点位质量不良，未用于计划',
    'plan.planner': '编制方法',
    'plan.horizon': '计划时域',
    'plan.horizonValue': '{hours} 小时，每步 {step} 分钟',
    'plan.gathering': '正在读取实时数据和降雨预报，计划生成中…',
    'plan.noPlan': '该流程没有生成计划。',
    'plan.polling': '每 {s} 秒自动刷新',
    'plan.statusChanged': '计划状态已变为：{status}',
    'plan.decision': '{kind}：{user}（{role}），{time}',
    'plan.decisionComment': '说明：{comment}',
    'plan.error': '错误：{message}',
    'plan.expiredNote': '计划在审批时限内未被处理，已过期，未向 SCADA 下发任何设定。',
    'plan.rejectedNote': '计划已驳回，未向 SCADA 下发任何设定。',
    'plan.stations': '各泵站设定',
    'plan.summary': '共 {total} 座泵站：设定变更 {changed}，被安全包络限制 {clamped}，本地控制 {local}，高液位及以上 {high}',
    'plan.attentionOnly': '只显示需关注的泵站（{n} 座）',
    'plan.allShown': '已显示全部泵站',
    'plan.transfers': '互联管与调节池（第一步）',
    'plan.transferValue': '{flow}，方向 {dir}',
    'plan.tankValue': '进水 {inlet}，回抽 {outlet}',
    'plan.noFlow': '不输送',
    'plan.chartLegend': '图例：实线为启泵液位设定，虚线为停泵液位设定；橙色/红色细线为高报警和溢流液位；灰色点线为常规启泵液位。',

    'planner.rule-based': '规则法',
    'planner.mpc': '优化法 (MPC)',
    'opMode.normal': '常规',
    'opMode.flood-drawdown': '汛期预降水位',
    'forecastSource.none': '无',

    'station.currentLevel': '计划依据液位',
    'station.bands': '停泵 {stop} · 启泵 {start} · 高报警 {high} · 溢流 {overflow}',
    'station.pumps': '运行 {running} 台 / 可用 {available} 台',
    'station.firstStep': '第一步设定（{time} 起）',
    'station.startLevel': '启泵液位',
    'station.stopLevel': '停泵液位',
    'station.pumpsAllowed': '允许运行泵数',
    'station.pumpsAllowedValue': '{allowed} / {total} 台',
    'station.standbyReleased': '含备用泵',
    'station.control': '控制方式',
    'station.control.levelBand': '液位区间',
    'station.control.flow': '流量设定 {flow}',
    'station.unchanged': '不变',
    'station.currentUnknown': '当前设定未知',
    'station.reason': '原因',
    'station.noReason': '计划未给出原因。',
    'station.clamped': '受安全包络限制',
    'station.clampLine': '{setpoint}：计划值 {wanted}，受安全包络限制，实际下发 {sent}',
    'station.chartAria': '{name} 未来 {hours} 小时设定：启泵液位 {startMin}–{startMax}，停泵液位 {stopMin}–{stopMax}',
    'station.chartTitle': '设定值曲线',
    'station.noSetpoint': '本计划未包含该泵站的设定。',
    'station.writes': '写入明细（{n} 项）',
    'station.outcome': '下发结果',

    'setpoint.startLevelM': '启泵液位',
    'setpoint.stopLevelM': '停泵液位',
    'setpoint.flowM3h': '流量设定',
    'setpoint.transferM3h': '互联输送',
    'setpoint.inletM3h': '调节池进水',
    'setpoint.outletM3h': '调节池回抽',

    'tag.startLevelSpM': '启泵液位',
    'tag.stopLevelSpM': '停泵液位',
    'tag.flowSpM3h': '流量设定',
    'tag.pumpsAllowedSp': '允许泵数',
    'tag.remoteControlSp': '控制方式',
    'tag.heartbeat': '调度心跳',

    'write.verified': '已核验',
    'write.skipped-local': '本地，已跳过',
    'write.mismatch': '回读不一致',
    'write.failed': '写入失败',
    'write.colTag': '点位',
    'write.colValue': '下发值',
    'write.colReadBack': '回读值',
    'write.colStatus': '结果',
    'write.colDetail': '说明',

    'outcome.title': '下发结果',
    'outcome.summary': '第 {step} 步于 {time} 下发：核验成功 {verified} 项，本地跳过 {skipped} 项，失败 {failed} 项',
    'outcome.station.verified': '设定已核验',
    'outcome.station.skipped': '本地控制，已跳过',
    'outcome.station.failed': '下发失败',
    'outcome.station.none': '无写入',

    'decision.title': '审批',
    'decision.hint': '批准后，计划第一步的设定值将写入处于远程模式的泵站；驳回需填写原因。',
    'decision.viewerOnly': '您的账号为只读角色，不能审批计划（需调度员及以上角色）。',
    'decision.viewerTooltip': '只读角色不能审批计划：需调度员及以上角色',
    'decision.approve': '批准并下发',
    'decision.reject': '驳回',
    'decision.busy': '正在提交…',
    'decision.approveTitle': '确认批准计划',
    'decision.approveBody': '将批准计划 {planId}，并立即向 SCADA 下发第一步设定值。',
    'decision.approveRemote': '写入远程模式泵站 {n} 座；本地控制的 {local} 座将跳过。',
    'decision.approveClamped': '{n} 项设定受安全包络限制，下发的是限制后的值。',
    'decision.approveMode': '运行模式：{mode}',
    'decision.comment': '说明（可选）',
    'decision.rejectTitle': '驳回计划',
    'decision.rejectBody': '将驳回计划 {planId}，不会向 SCADA 下发任何设定，泵站保持当前设定。',
    'decision.reason': '驳回原因（必填）',
    'decision.reasonHint': '原因会记入审计日志，供计划复核使用。',
    'decision.approved': '计划已批准，正在下发。',
    'decision.rejected': '计划已驳回。',
    'decision.kind.approve': '批准',
    'decision.kind.reject': '驳回',

    'dialog.cancel': '取消',
    'dialog.required': '请填写此项。',

    'audit.title': '审计日志',
    'audit.forbidden': '审计日志仅对调度主管及以上角色开放。',
    'audit.filters': '筛选条件',
    'audit.userName': '用户名',
    'audit.action': '操作',
    'audit.actionHint': '可填写完整操作名或前缀，例如 auth.login',
    'audit.target': '对象',
    'audit.text': '关键字',
    'audit.from': '开始时间（北京时间）',
    'audit.to': '结束时间（北京时间）',
    'audit.limit': '每页条数',
    'audit.search': '查询',
    'audit.reset': '清空',
    'audit.colTime': '时间',
    'audit.colUser': '用户',
    'audit.colRole': '角色',
    'audit.colAction': '操作',
    'audit.colTarget': '对象',
    'audit.colDetail': '详情',
    'audit.colIp': 'IP',
    'audit.empty': '没有符合条件的记录。',
    'audit.range': '第 {from}–{to} 条',
    'audit.prev': '上一页',
    'audit.next': '下一页',
    'audit.caption': '审计日志，最新的在前',

    'action.auth.login.ok': '登录成功',
    'action.auth.login.failed': '登录失败',
    'action.auth.logout': '退出登录',
    'action.plan.approve': '批准计划',
    'action.plan.reject': '驳回计划',
    'action.plan.approve.refused': '批准被拒绝',
    'action.plan.reject.refused': '驳回被拒绝',
    'action.user.create': '创建用户',
    'action.user.set-role': '修改角色',
    'action.user.disable': '停用用户',
    'action.token.create': '签发接口令牌',

    'notFound.title': '页面不存在',
    'notFound.body': '没有这个页面。',
    'notFound.home': '返回总览',
  },

  en: {
    'app.title': 'Sewage Dispatch Console',
    'app.subtitle': 'Sewage conveyance dispatch',
    'a11y.skip': 'Skip to main content',
    'nav.label': 'Main navigation',
    'nav.overview': 'Overview',
    'nav.plans': 'Plans',
    'nav.audit': 'Audit log',
    'nav.logout': 'Log out',
    'lang.switch': 'Switch the interface language',
    'footer.tz': 'All times are China Standard Time (Asia/Shanghai, UTC+8)',
    'conn.lost': 'Connection to the server lost; values shown may be stale',
    'noscript': 'This console needs JavaScript.',

    'login.title': 'Sign in',
    'login.intro': 'Sign in with your dispatch account.',
    'login.user': 'User name',
    'login.password': 'Password',
    'login.submit': 'Sign in',
    'login.busy': 'Signing in…',
    'login.failed': 'Wrong user name or password.',
    'login.missing': 'Enter your user name and password.',
    'login.expired': 'Your session has ended or expired. Please sign in again.',
    'login.loggedOut': 'You have logged out.',
    'login.rateLimited': 'Too many sign-in attempts. Please wait a minute.',

    'role.viewer': 'Viewer',
    'role.dispatcher': 'Dispatcher',
    'role.supervisor': 'Supervisor',
    'role.admin': 'Administrator',
    'user.signedInAs': 'Signed in as {name} ({role})',

    'error.network': 'Cannot reach the server. Check the network.',
    'error.forbidden': 'Not allowed: {message}',
    'error.notFound': 'Not found: {message}',
    'error.conflict': 'Not done; the plan has changed state: {message}',
    'error.rateLimited': 'Too many requests. Please wait a moment.',
    'error.server': 'Server error; see the server log.',
    'error.generic': 'Request failed: {message}',
    'error.pageFailed': 'The page could not be loaded',
    'error.retry': 'Retry',

    'common.updatedAt': 'Data updated {time}',
    'common.checkedAt': 'Checked {time}',
    'common.none': 'None',
    'common.unknown': 'Unknown',
    'common.refresh': 'Refresh',
    'common.loading': 'Loading…',
    'common.stale': 'Data is stale',

    'age.justNow': 'just now',
    'age.seconds': '{n} s ago',
    'age.minutes': '{n} min ago',
    'age.hours': '{n} h ago',
    'age.days': '{n} d ago',

    'overview.title': 'Network overview',
    'overview.schematic': 'Network schematic',
    'overview.stations': 'Pump stations, live',
    'overview.pending': 'A plan is waiting for approval: {planId} (created {time})',
    'overview.review': 'Review',
    'overview.stateError': 'Could not read live data: {message}',
    'overview.noTelemetry': 'No live data yet.',
    'overview.refreshNote': 'Refreshes every 10 s',

    'schematic.aria': 'Network schematic: {systems}, {count} pump stations. The station table below has every value.',
    'schematic.plant': 'In {inflow} / {capacity}',
    'schematic.bypass': 'bypass {flow}',
    'schematic.tank': '{volume} / {capacity} · {pct}',
    'schematic.transfer': '{id} {name} · {flow}',
    'schematic.staleNote': 'Grey dashed box: no update for more than {minutes} min',
    'schematic.remoteInactiveNote': 'REMOTE*: in REMOTE mode but remote setpoints not in force (watchdog)',

    'legend.title': 'Legend',

    'band.normal': 'Normal',
    'band.above-start': 'Above pump-start',
    'band.high': 'High-level alarm',
    'band.overflow': 'Overflow',
    'band.unknown': 'No data',

    'mode.remote': 'REMOTE',
    'mode.local': 'LOCAL',
    'mode.remoteInactive': 'REMOTE*',
    'mode.unknown': 'Mode unknown',
    'mode.localNote': 'LOCAL control: remote setpoints will not take effect',
    'mode.remoteInactiveTitle': 'REMOTE mode, but remote setpoints are not in force (watchdog expired)',

    'node.pumps': 'P {running}/{available}',

    'table.station': 'Station',
    'table.system': 'System',
    'table.level': 'Level',
    'table.band': 'State',
    'table.bands': 'Stop / start / high / overflow',
    'table.pumps': 'Pumps running / available',
    'table.mode': 'Control',
    'table.inflow': 'Inflow',
    'table.outflow': 'Pumped flow',
    'table.updated': 'Updated',

    'health.title': 'Component health',
    'health.overall': 'Overall',
    'health.up': 'Up',
    'health.down': 'Down',
    'health.degraded': 'Degraded',
    'health.latency': 'answered in {ms}',
    'health.error': 'Health check failed: {message}',
    'component.temporal': 'Workflow engine (Temporal)',
    'component.influxdb': 'Time-series database (InfluxDB)',
    'component.opcua': 'SCADA link (OPC UA)',
    'component.forecast': 'Rain forecast (Open-Meteo)',

    'plans.title': 'Dispatch plans',
    'plans.limit': 'Show',
    'plans.empty': 'No plans yet.',
    'plans.colPlan': 'Plan',
    'plans.colCreated': 'Created',
    'plans.colStatus': 'Status',
    'plans.colDecidedBy': 'Decided by',
    'plans.caption': 'Recent dispatch plans, newest first',
    'plans.back': '← Back to the plans',

    'status.gathering': 'Gathering data',
    'status.proposed': 'Awaiting approval',
    'status.approved': 'Approved, dispatching',
    'status.rejected': 'Rejected',
    'status.expired': 'Expired',
    'status.dispatched': 'Dispatched',
    'status.superseded': 'Superseded by a newer plan',
    'status.replaced': 'Replaced by a later plan',
    'status.completed': 'Completed',
    'status.dispatch-failed': 'Dispatch failed',

    'wf.RUNNING': 'Running',
    'wf.COMPLETED': 'Completed',
    'wf.FAILED': 'Workflow failed',
    'wf.CANCELLED': 'Cancelled',
    'wf.TERMINATED': 'Terminated',
    'wf.TIMED_OUT': 'Timed out',
    'wf.CONTINUED_AS_NEW': 'Continued',

    'plan.title': 'Plan',
    'plan.status': 'Status',
    'plan.created': 'Created',
    'plan.operatingMode': 'Operating mode',
    'plan.forecast': 'Rain forecast',
    'plan.forecastValue': '{source}, issued {time} ({age})',
    'plan.forecastNone': 'No rain forecast: this plan ignores rain',
    'plan.forecastOld': 'forecast older than 6 h',
    'plan.telemetry': 'Telemetry time',
    'plan.badTags': '{n} tags of bad quality, not used for the plan',
    'plan.planner': 'Planner',
    'plan.horizon': 'Horizon',
    'plan.horizonValue': '{hours} h in {step}-min steps',
    'plan.gathering': 'Reading live data and the rain forecast; the plan is being built…',
    'plan.noPlan': 'This cycle produced no plan.',
    'plan.polling': 'Refreshes every {s} s',
    'plan.statusChanged': 'Plan status is now: {status}',
    'plan.decision': '{kind}: {user} ({role}), {time}',
    'plan.decisionComment': 'Comment: {comment}',
    'plan.error': 'Error: {message}',
    'plan.expiredNote': 'Nobody decided within the approval time; the plan expired and nothing was sent to SCADA.',
    'plan.rejectedNote': 'The plan was rejected; nothing was sent to SCADA.',
    'plan.stations': 'Setpoints per station',
    'plan.summary': '{total} stations: {changed} setpoint changes, {clamped} limited by the safety envelope, {local} in LOCAL, {high} at high alarm or above',
    'plan.attentionOnly': 'Show only the {n} stations that need attention',
    'plan.allShown': 'All stations shown',
    'plan.transfers': 'Interconnection and tank (first step)',
    'plan.transferValue': '{flow}, direction {dir}',
    'plan.tankValue': 'inlet {inlet}, return {outlet}',
    'plan.noFlow': 'no transfer',
    'plan.chartLegend': 'Chart: solid line is the start level setpoint, dashed line the stop level setpoint; thin orange/red lines are the high-alarm and overflow levels; grey dotted line is the normal start level.',

    'planner.rule-based': 'Rule-based',
    'planner.mpc': 'Optimising (MPC)',
    'opMode.normal': 'Normal',
    'opMode.flood-drawdown': 'Flood-season drawdown',
    'forecastSource.none': 'none',

    'station.currentLevel': 'Level the plan used',
    'station.bands': 'stop {stop} · start {start} · high {high} · overflow {overflow}',
    'station.pumps': '{running} running / {available} available',
    'station.firstStep': 'First step (from {time})',
    'station.startLevel': 'Start level',
    'station.stopLevel': 'Stop level',
    'station.pumpsAllowed': 'Pumps allowed',
    'station.pumpsAllowedValue': '{allowed} of {total}',
    'station.standbyReleased': 'standby included',
    'station.control': 'Control',
    'station.control.levelBand': 'level band',
    'station.control.flow': 'flow setpoint {flow}',
    'station.unchanged': 'unchanged',
    'station.currentUnknown': 'current setpoint unknown',
    'station.reason': 'Why',
    'station.noReason': 'The plan gives no reason.',
    'station.clamped': 'Limited by the safety envelope',
    'station.clampLine': '{setpoint}: planner wanted {wanted}; the safety envelope limits it, {sent} is sent',
    'station.chartAria': '{name}, setpoints over the next {hours} h: start level {startMin}–{startMax}, stop level {stopMin}–{stopMax}',
    'station.chartTitle': 'Setpoints over the horizon',
    'station.noSetpoint': 'The plan has no setpoint for this station.',
    'station.writes': 'Writes ({n})',
    'station.outcome': 'Dispatch result',

    'setpoint.startLevelM': 'Start level',
    'setpoint.stopLevelM': 'Stop level',
    'setpoint.flowM3h': 'Flow setpoint',
    'setpoint.transferM3h': 'Transfer',
    'setpoint.inletM3h': 'Tank inlet',
    'setpoint.outletM3h': 'Tank return',

    'tag.startLevelSpM': 'Start level',
    'tag.stopLevelSpM': 'Stop level',
    'tag.flowSpM3h': 'Flow setpoint',
    'tag.pumpsAllowedSp': 'Pumps allowed',
    'tag.remoteControlSp': 'Control mode',
    'tag.heartbeat': 'Dispatch heartbeat',

    'write.verified': 'Verified',
    'write.skipped-local': 'Skipped (LOCAL)',
    'write.mismatch': 'Read-back mismatch',
    'write.failed': 'Write failed',
    'write.colTag': 'Tag',
    'write.colValue': 'Sent',
    'write.colReadBack': 'Read back',
    'write.colStatus': 'Result',
    'write.colDetail': 'Detail',

    'outcome.title': 'Dispatch result',
    'outcome.summary': 'Step {step} sent at {time}: {verified} verified, {skipped} skipped (LOCAL), {failed} failed',
    'outcome.station.verified': 'Setpoints verified',
    'outcome.station.skipped': 'LOCAL, skipped',
    'outcome.station.failed': 'Dispatch failed',
    'outcome.station.none': 'No writes',

    'decision.title': 'Decision',
    'decision.hint': 'Approving writes the first step of the plan to the stations in REMOTE mode; rejecting needs a reason.',
    'decision.viewerOnly': 'Your account is read-only and cannot decide on plans (dispatcher role or higher needed).',
    'decision.viewerTooltip': 'Read-only accounts cannot decide on plans: dispatcher role or higher needed',
    'decision.approve': 'Approve and dispatch',
    'decision.reject': 'Reject',
    'decision.busy': 'Sending…',
    'decision.approveTitle': 'Approve this plan?',
    'decision.approveBody': 'Plan {planId} will be approved and its first step sent to SCADA now.',
    'decision.approveRemote': '{n} stations in REMOTE will be written; {local} in LOCAL will be skipped.',
    'decision.approveClamped': '{n} setpoints are limited by the safety envelope; the limited values are sent.',
    'decision.approveMode': 'Operating mode: {mode}',
    'decision.comment': 'Comment (optional)',
    'decision.rejectTitle': 'Reject this plan?',
    'decision.rejectBody': 'Plan {planId} will be rejected; nothing is sent to SCADA and the stations keep their current setpoints.',
    'decision.reason': 'Reason for rejecting (required)',
    'decision.reasonHint': 'The reason is kept in the audit log for the plan review.',
    'decision.approved': 'Plan approved; dispatching.',
    'decision.rejected': 'Plan rejected.',
    'decision.kind.approve': 'Approved',
    'decision.kind.reject': 'Rejected',

    'dialog.cancel': 'Cancel',
    'dialog.required': 'This field is required.',

    'audit.title': 'Audit log',
    'audit.forbidden': 'The audit log is open to supervisors and administrators only.',
    'audit.filters': 'Filters',
    'audit.userName': 'User name',
    'audit.action': 'Action',
    'audit.actionHint': 'Exact action or a dotted prefix, e.g. auth.login',
    'audit.target': 'Target',
    'audit.text': 'Text',
    'audit.from': 'From (China time)',
    'audit.to': 'To (China time)',
    'audit.limit': 'Rows per page',
    'audit.search': 'Search',
    'audit.reset': 'Clear',
    'audit.colTime': 'Time',
    'audit.colUser': 'User',
    'audit.colRole': 'Role',
    'audit.colAction': 'Action',
    'audit.colTarget': 'Target',
    'audit.colDetail': 'Detail',
    'audit.colIp': 'IP',
    'audit.empty': 'No entries match.',
    'audit.range': 'Entries {from}–{to}',
    'audit.prev': 'Previous',
    'audit.next': 'Next',
    'audit.caption': 'Audit log, newest first',

    'action.auth.login.ok': 'Signed in',
    'action.auth.login.failed': 'Sign-in failed',
    'action.auth.logout': 'Logged out',
    'action.plan.approve': 'Approved plan',
    'action.plan.reject': 'Rejected plan',
    'action.plan.approve.refused': 'Approval refused',
    'action.plan.reject.refused': 'Rejection refused',
    'action.user.create': 'Created user',
    'action.user.set-role': 'Changed role',
    'action.user.disable': 'Disabled user',
    'action.token.create': 'Issued API token',

    'notFound.title': 'Page not found',
    'notFound.body': 'There is no such page.',
    'notFound.home': 'Back to the overview',
  },
};

function storedLang() {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
}

let current = storedLang();

/** The current language: 'zh' (default) or 'en'. */
export function getLang() {
  return current;
}

/** Switch language and remember the choice in localStorage. */
export function setLang(next) {
  current = next === 'en' ? 'en' : 'zh';
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, current);
  } catch {
    // Storage may be disabled (private mode); the choice then lasts for this page only.
  }
}

/** BCP 47 tag for the html lang attribute and Intl formatters. */
export function locale() {
  return current === 'en' ? 'en-GB' : 'zh-CN';
}

function interpolate(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) => (Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match));
}

/** The string for `key` in the current language, with {name} placeholders filled from `params`. */
export function t(key, params) {
  const text = messages[current][key] ?? messages.zh[key];
  if (text === undefined) {
    console.warn(`i18n: missing key ${key}`);
    return key;
  }
  return interpolate(text, params);
}

/** Like t, for keys built at run time: `fallback` (e.g. the raw code) when the key is unknown. */
export function tOr(key, fallback, params) {
  const text = messages[current][key] ?? messages.zh[key];
  return text === undefined ? String(fallback) : interpolate(text, params);
}

/** A {zh, en} name from the network description, in the current language. */
export function localName(name) {
  if (!name || typeof name !== 'object') return '';
  return String(name[current] ?? name.zh ?? name.en ?? '');
}

// ---------------------------------------------------------------------------------------------------
// Formatting

const partsFormatter = new Intl.DateTimeFormat('en-GB', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

function shanghaiParts(ms) {
  const parts = {};
  for (const p of partsFormatter.formatToParts(new Date(ms))) parts[p.type] = p.value;
  return parts;
}

/** "2025-06-01 14:30" (or with seconds) in Asia/Shanghai; the same layout in both languages. */
export function fmtTime(ms, { seconds = false, date = true } = {}) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  const p = shanghaiParts(ms);
  const clock = `${p.hour}:${p.minute}${seconds ? `:${p.second}` : ''}`;
  return date ? `${p.year}-${p.month}-${p.day} ${clock}` : clock;
}

/** "HH:MM" in Asia/Shanghai. */
export function fmtClock(ms) {
  return fmtTime(ms, { date: false });
}

/** How long ago `ms` was, relative to `nowMs`. */
export function fmtAge(ms, nowMs = Date.now()) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  const s = Math.round((nowMs - ms) / 1000);
  if (s < 5) return t('age.justNow');
  if (s < 90) return t('age.seconds', { n: s });
  const min = Math.round(s / 60);
  if (min < 90) return t('age.minutes', { n: min });
  const hours = s / 3600;
  if (hours < 36) return t('age.hours', { n: hours < 10 ? hours.toFixed(1) : Math.round(hours) });
  return t('age.days', { n: (hours / 24).toFixed(1) });
}

const numberFormatters = new Map();

/** A number with a fixed count of decimals in the current locale, or '—' when missing. */
export function fmtNum(value, digits = 0) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  const key = `${current}/${digits}`;
  let formatter = numberFormatters.get(key);
  if (!formatter) {
    formatter = new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits });
    numberFormatters.set(key, formatter);
  }
  // Avoid "-0.00".
  const rounded = Number(value.toFixed(digits));
  return formatter.format(Object.is(rounded, -0) ? 0 : rounded);
}

/** A number with its unit ("2.35 m", "1,200 m³/h"), or '—' when missing. */
export function withUnit(value, digits, unit) {
  const n = fmtNum(value, digits);
  return n === '—' ? n : `${n} ${unit}`;
}
