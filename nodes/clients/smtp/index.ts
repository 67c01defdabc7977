/** The SMTP client of the pack: pooled sending over nodemailer, typed errors, address checks. */
export { createSmtpClient, type SmtpClient, type SmtpClientOptions, type SmtpMail, type SmtpSendResult, type SmtpSecurity } from './client';
export { addressList } from './addresses';
