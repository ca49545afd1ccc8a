-- Agreement history is append-only, like the audit log.
CREATE FUNCTION agreement_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'agreement_events is append-only';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER agreement_events_no_update BEFORE UPDATE ON agreement_events
  FOR EACH ROW EXECUTE FUNCTION agreement_events_refuse_change();
--> statement-breakpoint
-- The default county template: the official's four commitments and the person's three (DOMAIN.md, 双向承诺书).
INSERT INTO commitment_items (code, side, text_zh, text_en, sort_order) VALUES
  ('RESPECT_RIGHTS', 'OFFICIAL', '尊重当事人的合法权益和知情选择', 'Respect the person''s rights and informed choice', 1),
  ('DELIVER_BENEFITS', 'OFFICIAL', '落实当事人应享受的各项奖励、优惠和补贴', 'Deliver the benefits and subsidies the person is entitled to', 2),
  ('NO_DEPOSIT', 'OFFICIAL', '不收取任何保证金和押金', 'Never collect a deposit or guarantee money', 3),
  ('FOLLOW_UP_SERVICE', 'OFFICIAL', '外出期间提供跟踪服务', 'Provide follow-up service while the person is away', 4),
  ('ACCEPT_LOCAL_SERVICES', 'PERSON', '接受现居住地提供的服务', 'Accept the services offered where the person now lives', 1),
  ('REPORT_PERIODICALLY', 'PERSON', '定期向家乡报告本人情况', 'Send a status report home periodically', 2),
  ('KEEP_IN_TOUCH', 'PERSON', '与村干部保持联系，及时告知工作和生活变化', 'Keep in touch with the village official and report changes in work and living situation', 3)
ON CONFLICT (code) DO NOTHING;
